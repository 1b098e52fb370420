/* flame_assets.h - the style sheet and script of the SVG flame graph. */
#ifndef PYSCOPE_FLAME_ASSETS_H
#define PYSCOPE_FLAME_ASSETS_H

/* A complete <style> element (click-to-zoom, search, hover). */
extern const char FLAME_STYLE[];

/* A complete <script> element; put it after the frames. */
extern const char FLAME_SCRIPT[];

#endif
