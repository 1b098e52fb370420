// speedscope-import.js - load a profile with speedscope's own importer,
// the code its web app runs on a dropped file, and print what it made of
// it as JSON on stdout.
//
// Usage: node speedscope-import.js SPEEDSCOPE_DIR FILE
//   SPEEDSCOPE_DIR: an installed npm package speedscope (its
//   dist/release/speedscope-*.js bundle is read).
//
// How: the npm package ships only the bundled web app (one esbuild IIFE,
// no exports).  Inside it, the importer module (importProfileGroupFromText,
// importProfilesFromArrayBuffer: the format detection and every parser)
// is loaded lazily through a promise that the app's own "load a file"
// functions await:
//     async function Ff(t,e){return(await jr).importProfileGroupFromText(t,e)}
// This script finds that function by its shape (not by the minified
// names), inserts right after it a statement that hands the promise to
// us and then throws, and runs the bundle in a node vm context.  The throw
// stops the bundle before it builds the UI, so no DOM is needed; the
// importer itself needs only what node has (TextDecoder, ...).  If a new
// speedscope changes that shape, the script says so and exits 3.
//
// Output: {"name", "profiles": [{"name", "unit", "total", "frames":
// [{"name", "file", "line", "self", "total"}]}]} - the frames as
// speedscope's Profile keeps them (one entry per distinct frame), with
// their self and total weights.  A file the importer does not recognize
// prints an error and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

function loadImporter(dir) {
    const release = path.join(dir, 'dist', 'release');
    const bundle = fs.readdirSync(release)
        .find(f => /^speedscope-[A-Za-z0-9]+\.js$/.test(f));
    if (!bundle) {
        console.error(`no speedscope-*.js bundle in ${release}`);
        process.exit(3);
    }
    let src = fs.readFileSync(path.join(release, bundle), 'utf8');
    const shape = /async function [\w$]+\([\w$]+,[\w$]+\)\{return\(await ([\w$]+)\)\.importProfileGroupFromText\([\w$]+,[\w$]+\)\}/;
    const m = shape.exec(src);
    if (!m) {
        console.error(`speedscope's importer not found in ${bundle}`);
        process.exit(3);
    }
    const at = m.index + m[0].length;
    src = src.slice(0, at)
        + `;globalThis.__pyscopeImporter=${m[1]};throw new Error("__pyscope_stop");`
        + src.slice(at);
    const quiet = () => {};
    const ctx = {
        console: {log: quiet, info: quiet, warn: quiet, time: quiet,
                  timeEnd: quiet, assert: quiet, error: console.error},
        setTimeout, clearTimeout, TextDecoder, TextEncoder, URL,
        location: {hash: '', protocol: 'file:', href: 'file:///index.html',
                   search: ''},
        addEventListener: quiet,
    };
    ctx.window = ctx;
    ctx.self = ctx;
    vm.createContext(ctx);
    try {
        vm.runInContext(src, ctx, {filename: bundle});
    } catch (e) {
        if (e.message !== '__pyscope_stop') {
            console.error(`speedscope's bundle failed to load: ${e}`);
            process.exit(3);
        }
    }
    return ctx.__pyscopeImporter;
}

async function main() {
    const [dir, file] = process.argv.slice(2);
    const importer = await loadImporter(dir);
    const name = path.basename(file);
    const bytes = fs.readFileSync(file);
    // Text formats as the app reads a dropped file; a gzipped protobuf
    // (pprof) through the array-buffer entry point.
    const group = bytes[0] === 0x1f && bytes[1] === 0x8b
        ? await importer.importProfilesFromArrayBuffer(name, bytes.buffer.slice(
            bytes.byteOffset, bytes.byteOffset + bytes.length))
        : await importer.importProfileGroupFromText(name, bytes.toString('utf8'));
    if (!group || group.profiles.length === 0) {
        console.error(`speedscope did not import ${file}`);
        process.exit(1);
    }
    const out = {name: group.name, profiles: []};
    for (const p of group.profiles) {
        const frames = [];
        p.forEachFrame(f => frames.push({
            name: f.name, file: f.file, line: f.line,
            self: f.getSelfWeight(), total: f.getTotalWeight(),
        }));
        out.profiles.push({name: p.getName(), unit: p.getWeightUnit(),
                           total: p.getTotalWeight(), frames});
    }
    process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main().catch(e => {
    console.error(`speedscope's importer failed: ${e && e.stack || e}`);
    process.exit(1);
});
