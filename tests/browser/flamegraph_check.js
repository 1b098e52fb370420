// flamegraph_check.js - drive pyscope-report's SVG flame graph in
// headless Chromium and check its script on the DOM.
//
// usage: node flamegraph_check.js SVG SCREENSHOT-DIR
// env:   PLAYWRIGHT_CORE (the playwright-core package directory),
//        CHROMIUM (default /usr/bin/chromium)
//
// The SVG is the one tests/flamegraph.bats makes from narrow_stream:
// handler:10 calls compute (5000 samples), medium (40: kid_0..kid_9, 4
// each), a hostile name (20) and tiny_0..2 (1 each); handler:12 calls
// leaf_0..leaf_299 (1 each, each calling callee).  Prints what it checked
// and exits 1 at the first failure.
"use strict";

const path = require("path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const [svgPath, shotDir] = process.argv.slice(2);
const AVAIL = 1180;
const MATCH_FILL = "rgb(230,0,230)";

function check(cond, what) {
    if (!cond) {
        throw new Error("FAILED: " + what);
    }
    console.log("ok: " + what);
}

// Every frame element as the page has it now.
function snapshot(page) {
    return page.evaluate(() => {
        const out = [];
        for (const g of document.getElementById("frames")
                 .getElementsByTagName("g")) {
            const rect = g.getElementsByTagName("rect")[0];
            out.push({
                title: g.getElementsByTagName("title")[0].textContent,
                cls: g.getAttribute("class"),
                dot: g.hasAttribute("data-p"),
                depth: Number(g.getAttribute("data-d")),
                samples: Number(g.getAttribute("data-w")),
                x: Number(rect.getAttribute("x")),
                width: Number(rect.getAttribute("width")),
                fill: rect.getAttribute("fill"),
                text: g.getElementsByTagName("text")[0].textContent,
                visible: getComputedStyle(g).display !== "none",
            });
        }
        return out;
    });
}

const named = (frames, prefix) =>
    frames.filter((f) => !f.dot && f.title.startsWith(prefix));
const near = (a, b) => Math.abs(a - b) < 0.02;

async function clickFrame(page, prefix) {
    const handle = await page.evaluateHandle((p) => {
        for (const g of document.getElementById("frames")
                 .getElementsByTagName("g")) {
            const t = g.getElementsByTagName("title")[0].textContent;
            if (!g.hasAttribute("data-p") && t.startsWith(p)) {
                return g.getElementsByTagName("rect")[0];
            }
        }
        return null;
    }, prefix);
    await handle.asElement().click();
}

async function main() {
    const errors = [];
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        args: ["--no-sandbox"],
    });
    try {
        const page = await browser.newPage({
            viewport: { width: 1200, height: 300 },
        });
        page.on("pageerror", (e) => errors.push(String(e)));
        await page.goto("file://" + path.resolve(svgPath));

        // The full view as flamegraph.c wrote it.
        const first = await snapshot(page);
        const dots = first.filter((f) => f.dot);
        check(dots.length === 3, "three \u2026 frames in the full view");
        check(dots.every((d) => d.visible && d.text === "\u2026"
                               || d.width < 10),
              "each \u2026 is drawn, labelled \u2026 when it fits");
        check(dots.some((d) => d.title.startsWith(
                  "\u2026 300 frames merged, 600 with their callees "
                  + "(300 samples")),
              "the leaves' \u2026 counts 300 frames and 600 with callees");
        const row1 = first.filter((f) => f.visible && f.depth === 1);
        check(near(row1.reduce((s, f) => s + f.width, 0), AVAIL),
              "the first row's widths add up to the full width");
        const sub = await page.textContent("#subtitle");
        check(/; \d+ frames narrower than 1 px merged into 3 \u2026$/
                  .test(sub), "the subtitle counts the merged frames: "
              + sub);
        check(named(first, "kid_").every((f) => !f.visible),
              "medium's children are merged in the full view");

        // Click medium: it takes the full width, its children show.
        await clickFrame(page, "medium (");
        let now = await snapshot(page);
        const medium = named(now, "medium (")[0];
        check(near(medium.x, 10) && near(medium.width, AVAIL),
              "the clicked frame is zoomed to the full width");
        const kids = named(now, "kid_");
        check(kids.length === 10 && kids.every((k) => k.visible
                  && near(k.width, AVAIL / 10)),
              "zoomed in, its 10 merged children are drawn, 118 px each");
        check(kids.every((k) => k.text.startsWith("kid_")
                  && k.text.includes("(<std")),
              "their text shows the shortened path (<stdlib>/...)");
        check(named(now, "compute (").every((f) => !f.visible),
              "frames outside the zoomed one are hidden");
        check(named(now, "handler (").some((f) => f.visible
                  && f.cls.includes("parent") && near(f.width, AVAIL)),
              "its callers stay below it at the full width");
        check(now.filter((f) => f.dot).length === 0,
              "nothing is merged any more in that view");
        check(await page.getAttribute("#unzoom", "class") === "button",
              "Reset Zoom is offered");

        // Reset Zoom: the script redraws exactly what flamegraph.c drew.
        await page.click("#unzoom");
        now = await snapshot(page);
        const same = (a, b) => a.length === b.length && a.every((f, i) =>
            f.title === b[i].title && f.visible === b[i].visible
            && (!f.visible || near(f.x, b[i].x) && near(f.width, b[i].width)
                && f.text === b[i].text));
        const byTitle = (a) => a.slice().sort((p, q) =>
            p.title < q.title ? -1 : p.title > q.title ? 1 : 0);
        check(same(byTitle(now), byTitle(first)),
              "Reset Zoom redraws the full view as the C code drew it");

        // Click the leaves' caller: 300 frames of 1 sample each show.
        await clickFrame(page, "handler (");   // handler:10 sorts first
        await page.click("#unzoom");
        const handler12 = named(now, "handler (")
            .filter((f) => f.title.includes(":12)"))[0];
        check(handler12 !== undefined, "handler:12 is drawn");
        await clickFrame(page, handler12.title);
        now = await snapshot(page);
        check(named(now, "leaf_").filter((f) => f.visible).length === 300,
              "zoomed into handler:12, all 300 leaves are drawn");

        // Search: matches turn magenta, a "…" holding one too.
        await page.click("#unzoom");
        page.once("dialog", (d) => d.accept("kid_[0-4]"));
        await page.click("#search");
        now = await snapshot(page);
        const mediumDot = now.filter((f) => f.dot && f.samples === 40)[0];
        check(mediumDot && mediumDot.fill === MATCH_FILL,
              "a \u2026 holding a match is highlighted");
        check((await page.textContent("#matched")) === "Matched: 0.4%",
              "the matched share is 20 of 5363 samples");
        await clickFrame(page, "medium (");
        now = await snapshot(page);
        const hit = named(now, "kid_").filter((f) => f.fill === MATCH_FILL)
            .map((f) => f.title.slice(0, 5)).sort();
        check(hit.join(" ") === "kid_0 kid_1 kid_2 kid_3 kid_4",
              "zoomed in, exactly the matching frames are highlighted");
        await page.screenshot({ path: path.join(shotDir, "zoomed.png") });
        await page.click("#unzoom");
        await page.screenshot({ path: path.join(shotDir, "full.png") });

        check(errors.length === 0, "no script errors "
              + JSON.stringify(errors));
    } finally {
        await browser.close();
    }
}

main().catch((e) => {
    console.error(e.message);
    process.exit(1);
});
