/* func_view.h - the function-level view of the stacks (--no-lines).
 *
 * Every Python frame "QUALNAME (FILE:LINE)" becomes "QUALNAME (FILE)",
 * so all the lines of a function merge into one frame; other frames stay
 * as they are.  Stacks that become equal add up.
 */
#ifndef PYSCOPE_FUNC_VIEW_H
#define PYSCOPE_FUNC_VIEW_H

#include "stacks.h"

/* Build into out (initialised here; free with stacks_free) the stacks of
   in, Python frames without their line numbers.  For the folded file
   and the flame graph: out has no sample_stacks. */
void stacks_function_view(const struct stacks *in, struct stacks *out);

#endif
