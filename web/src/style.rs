//! The playground's stylesheet, injected once per document by `mount` so that an embedding
//! page needs nothing but one `<script>`. Every rule is scoped under `.svcroute`.

/// The id of the injected `<style>` element.
pub const STYLE_ID: &str = "svcroute-style";

/// The CSS. A shadow root stops the host page's selectors but not inheritance: `.sr-host`,
/// the root's one element, resets every inherited property (`all: initial`), so a page's
/// font, `letter-spacing`, `text-transform` or `text-align` never reach the widget.
pub const CSS: &str = r#"
:host{display:block}
.sr-host{all:initial;display:block}
.sr-visually-hidden{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.sr-skip{position:absolute;left:-9999px;top:auto}
.sr-skip:focus{position:static;display:inline-block;margin:4px 0;padding:4px 8px;background:var(--accent);color:#fff;border-radius:6px}
.sr-undo{margin-top:6px}
.sr-modes{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:10px;margin:10px 0}
.sr-mode{min-width:0}
.sr-mode .sr-pre{max-height:420px;overflow:auto;font-size:12px}
.sr-hint{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px 8px;margin:6px 0;color:var(--fg)}
.sr-warns{margin:4px 0 0;padding-left:18px;color:var(--warn)}
.svcroute{--fg:#1b1f24;--muted:#57606a;--line:#868e96;--bg:#fff;--panel:#f6f8fa;--accent:#0969da;--ok:#1a7f37;--warn:#8a5c00;--bad:#cf222e;
  --edge:#6e7781;--box:#fff;--node:#f6f8fa;--ready-bg:#dafbe1;--nr-bg:#fff8c5;--term-bg:#ffebe9;--vs-bg:#fff8c5;--vs-line:#8a5c00;--proxy-bg:#eef4ff;--proxy-line:#0969da;--outside-bg:#f6f8fa;--unsel:#eaeef2;
  font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg);
  box-sizing:border-box;max-width:1400px;margin:0 auto;padding:12px;overflow-wrap:anywhere}
.svcroute *,.svcroute *::before,.svcroute *::after{box-sizing:inherit}
.svcroute button,.svcroute select,.svcroute textarea{font:inherit;color:inherit}
.svcroute button{border:1px solid var(--line);background:#fff;border-radius:6px;padding:5px 10px;cursor:pointer;min-height:32px}
.svcroute button:hover:not(:disabled){border-color:var(--accent)}
.svcroute button:disabled{opacity:.45;cursor:default}
.svcroute :focus-visible{outline:3px solid var(--accent);outline-offset:1px}
.svcroute select{border:1px solid var(--line);border-radius:6px;padding:4px 6px;background:#fff;max-width:100%;min-height:32px}
.sr-header{display:flex;justify-content:space-between;align-items:flex-start;gap:12px;margin-bottom:8px}
.sr-title{font-size:1.45em;margin:0}
.sr-compact .sr-title{font-size:1.1em}
.sr-subtitle{margin:2px 0 0;color:var(--muted)}
.sr-lang{flex:none}
.sr-scenarios{margin:6px 0 10px}
.sr-scenario-buttons{display:flex;flex-wrap:wrap;gap:6px}
.sr-scenario.sr-on{background:var(--accent);border-color:var(--accent);color:#fff}
.sr-try{background:#ddf4ff;border:1px solid #b6e3ff;border-radius:6px;padding:8px 10px;margin:8px 0}
.sr-grid{display:flex;flex-direction:column;gap:12px}
.sr-col{display:contents}
.sr-p-picture{order:1}.sr-p-editor{order:2}.sr-p-actions{order:3}.sr-p-rules{order:4}
@media (min-width:960px){.sr-grid{display:grid;grid-template-columns:minmax(0,5fr) minmax(0,7fr);align-items:start}
  .sr-col{display:flex;flex-direction:column;gap:12px;min-width:0}}
.sr-panel{border:1px solid var(--line);border-radius:8px;padding:10px;background:var(--bg);min-width:0}
.sr-h{font-size:1.08em;margin:0 0 6px}
.sr-h3{font-size:.98em;margin:10px 0 4px}
.sr-help,.sr-muted{color:var(--muted)}
.sr-help{margin:0 0 6px;font-size:.92em}
.sr-mono,.sr-pre,.sr-textarea,.sr-backdrop,.sr-gutter,.sr-diag{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace}
.sr-editor{display:flex;align-items:flex-start;border:1px solid var(--line);border-radius:6px;max-height:460px;overflow:auto;background:#fff;font-size:13px;line-height:20px}
.sr-compact .sr-editor{max-height:300px}
.sr-gutter{flex:none;background:var(--panel);color:var(--muted);text-align:right;padding:4px 0;user-select:none;border-right:1px solid var(--line);position:sticky;left:0;z-index:1}
.sr-ln{padding:0 6px 0 8px;min-width:3.2em;height:20px}
.sr-ln.sr-err{background:var(--bad);color:#fff;font-weight:700}
.sr-ln.sr-warn{background:#fff8c5;color:var(--warn)}
.sr-code{position:relative;flex:1 0 auto;min-width:0}
.sr-backdrop{padding:4px 32px 4px 8px;white-space:pre;color:transparent;pointer-events:none}
.sr-bl{height:20px}
.sr-bl.sr-err{background:#ffebe9;box-shadow:inset 3px 0 var(--bad)}
.sr-bl.sr-warn{background:#fff8c5}
.sr-textarea{position:absolute;inset:0;width:100%;height:100%;margin:0;border:0;padding:4px 8px;resize:none;overflow:hidden;background:transparent;white-space:pre;font-size:13px;line-height:20px;tab-size:2;outline-offset:-3px}
.sr-status{margin-top:6px;border-radius:6px;padding:6px 8px;font-size:.93em}
.sr-status p{margin:0}
.sr-good{background:#dafbe1;color:#116329}
.sr-bad{background:#ffebe9;color:#82071e}
.sr-diags{list-style:none;margin:6px 0 0;padding:0}
.sr-diag{display:block;width:100%;text-align:left;border:0!important;background:transparent!important;padding:2px 0!important;min-height:0!important;font-size:12.5px;white-space:pre-wrap}
.sr-diag.error{color:var(--bad)}.sr-diag.warning{color:var(--warn)}
button.sr-diag{text-decoration:underline dotted}
.sr-picture .sr-svg{width:100%;height:auto;display:block}
.sr-picture{position:relative}
.sr-stale .sr-svg{opacity:.55;filter:grayscale(.6)}
.sr-stale-note{margin:0 0 4px;color:var(--bad);font-weight:600}
.sr-svg text{font-size:10px;text-anchor:middle;fill:var(--fg)}
.sr-svg .sr-t-small{font-size:8.5px;fill:var(--muted)}
.sr-svg .sr-t-mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:9.5px}
.sr-svg .sr-t-bold{font-weight:700}
.sr-svg .sr-t-left{text-anchor:start}
.sr-svg .sr-t-note{fill:var(--muted)}
.sr-client rect{stroke-width:1.5}
.sr-client.sr-chosen rect{stroke-width:3}
.sr-entry rect{fill:var(--vs-bg);stroke:var(--vs-line);stroke-width:1.5}
.sr-entry.sr-chosen rect{stroke:#9a6700;stroke-width:3}
.sr-dns rect{fill:var(--box);stroke:#8250df;stroke-dasharray:5 3;stroke-width:1.5}
.sr-external rect{fill:var(--box);stroke:var(--edge);stroke-dasharray:3 3}
.sr-node>rect{fill:var(--node);stroke:var(--edge);stroke-width:1}
.sr-node.sr-chosen>rect{stroke:var(--accent);stroke-width:2.5}
.sr-pod rect{stroke-width:1.5}
.sr-pod.ready>rect{fill:var(--ready-bg);stroke:var(--ok)}
.sr-pod.not-ready>rect{fill:var(--nr-bg);stroke:var(--warn)}
.sr-pod.terminating>rect{fill:var(--term-bg);stroke:var(--bad)}
.sr-pod.sr-out>rect{stroke-dasharray:4 3}
.sr-pod.sr-draining>rect{fill:var(--term-bg);stroke:var(--bad);stroke-dasharray:2 2;stroke-width:2}
.sr-svg .sr-drain-text{fill:var(--bad);font-weight:600}
.sr-pod.sr-unselected text{fill:var(--muted)}
.sr-pod.sr-unselected>rect{fill:var(--unsel);stroke:var(--edge)}
.sr-hits circle{fill:var(--accent)}
.sr-hits text{fill:#fff!important;font-size:10px}
.sr-link{stroke:var(--edge);stroke-width:1;fill:none;stroke-dasharray:2 3}
.sr-arrowhead{fill:var(--edge)}
.sr-conn path{fill:none;stroke-width:2;opacity:.8;mix-blend-mode:multiply}
.sr-link{mix-blend-mode:multiply}
.sr-conn.sr-refused path{stroke:var(--bad)!important;stroke-dasharray:4 3}
.sr-refused-text{fill:var(--bad)!important}
@media (prefers-reduced-motion:reduce){.sr-dot{display:none}}
.sr-traffic{margin-top:8px}
.sr-row{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;margin:6px 0}
.sr-field{display:flex;flex-direction:column;gap:2px;font-size:.9em;min-width:0;max-width:100%}
.sr-field>span{color:var(--muted)}
.sr-primary{background:var(--accent)!important;color:#fff!important;border-color:var(--accent)!important;font-weight:600}
.sr-small{padding:3px 8px!important;font-size:.9em}
.sr-clock{align-items:center}
.sr-clock output{font-family:ui-monospace,Menlo,monospace;font-weight:700}
.sr-notice{color:var(--bad);margin:4px 0}
.sr-log{margin-top:6px}
.sr-conns{list-style:none;margin:0;padding:0;max-height:320px;overflow:auto}
.sr-compact .sr-conns{max-height:220px}
.sr-conn-item{border-top:1px solid var(--line);padding:4px 0;font-size:.9em}
.sr-conn-item.sr-new{background:#f1f8ff}
.sr-reason{color:var(--muted);font-size:.92em;padding-left:1em}
.sr-spread{font-size:.9em}
.sr-chip{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 7px;margin:1px 3px;font-size:.88em;background:var(--panel)}
.sr-chip.ready{background:#dafbe1;border-color:#1a7f37}.sr-chip.not-ready{background:#fff8c5;border-color:#9a6700}.sr-chip.terminating{background:#ffebe9;border-color:#cf222e}
.sr-pods{list-style:none;margin:0;padding:0}
.sr-pod-row{border-top:1px solid var(--line);padding:5px 0;font-size:.92em}
.sr-pod-buttons{display:inline-flex;flex-wrap:wrap;gap:4px;margin-left:4px}
.sr-workload{align-items:center}
.sr-workload output{min-width:5em;text-align:center}
.sr-pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px 8px;overflow:auto;font-size:12px;line-height:1.4;margin:0;white-space:pre}
.sr-diff .sr-add{color:var(--ok)}.sr-diff .sr-del{color:var(--bad)}.sr-diff .sr-mod{color:var(--warn)}
.sr-scroll{overflow-x:auto}
.sr-table{border-collapse:collapse;font-size:12px}
.sr-table td{border-top:1px solid var(--line);padding:2px 8px 2px 0;vertical-align:top}
.sr-footer{color:var(--muted);font-size:.88em;margin-top:12px}
.sr-footer p{margin:4px 0}
.sr-more{margin-top:6px;border:1px solid var(--line);border-radius:6px;padding:4px 8px}
.sr-more>summary{cursor:pointer;font-weight:600}
.sr-compact{border:1px solid var(--line);border-radius:10px;max-width:760px}
.sr-empty{padding:24px;color:var(--muted)}
.sr-svg .sr-t-right{text-anchor:end}
.sr-svg .sr-t-strong{font-weight:600;fill:var(--fg)}
.sr-svg .sr-t-muted{fill:var(--muted)}
.sr-client rect{fill:var(--box)}
.sr-outside-band{fill:var(--outside-bg);stroke:var(--edge);stroke-width:1}
.sr-boundary{fill:none;stroke:var(--fg);stroke-width:1.5;stroke-dasharray:8 4}
.sr-lb rect{fill:var(--box);stroke:var(--proxy-line);stroke-width:1.5}
.sr-lb.sr-pending rect{stroke:var(--warn);stroke-dasharray:4 3}
.sr-cp-step rect{fill:var(--panel);stroke:var(--edge);stroke-width:1}
.sr-cp-link{stroke:var(--edge);stroke-width:1}
.sr-cp-anim rect{animation:sr-pulse 1.2s ease-out 1 both}
.sr-cp-anim{animation-fill-mode:both}
@keyframes sr-pulse{0%{fill:var(--panel)}30%{fill:#ffd33d;stroke:var(--warn)}100%{fill:var(--panel)}}
.sr-proxy>rect{fill:var(--proxy-bg);stroke:var(--proxy-line);stroke-width:1.2}
.sr-vs rect{fill:transparent}
.sr-vs.sr-chosen rect{fill:var(--vs-bg);stroke:var(--vs-line);stroke-width:1}
.sr-mark-ready{fill:var(--ok)}
.sr-mark-notready{fill:none;stroke:var(--warn);stroke-width:2}
.sr-mark-term{fill:var(--bad)}
.sr-cross{stroke:var(--bad);stroke-width:2.2;fill:none}
.sr-conn.sr-hop2 path{stroke-dasharray:6 3;opacity:.8}
.sr-snat rect,.sr-legend-snat{fill:var(--box);stroke:var(--fg);stroke-width:1}
.sr-legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0 0;padding:0;font-size:.85em;color:var(--fg)}
.sr-legend li{display:flex;align-items:center;gap:4px}
.sr-legend-conn{stroke:var(--accent);stroke-width:2}
.sr-legend .sr-link{stroke-width:1.2}
@media (prefers-color-scheme:dark){
  .svcroute{--fg:#e6edf3;--muted:#9ea7b3;--line:#656c76;--bg:#0d1117;--panel:#161b22;--accent:#4493f8;--ok:#3fb950;--warn:#d29922;--bad:#f85149;
    --edge:#8b949e;--box:#0d1117;--node:#161b22;--ready-bg:#12261e;--nr-bg:#272115;--term-bg:#2d1517;--vs-bg:#3b2e0a;--vs-line:#d29922;--proxy-bg:#0c2d6b;--proxy-line:#4493f8;--outside-bg:#161b22;--unsel:#21262d}
  .svcroute button,.svcroute select,.svcroute .sr-editor{background:var(--panel);color:var(--fg);border-color:var(--line)}
  .sr-try{background:#0c2d6b;border-color:#1f6feb}
  .sr-good{background:#12261e;color:#7ee787}.sr-bad{background:#2d1517;color:#ffa198}
  .sr-bl.sr-err{background:#2d1517}.sr-bl.sr-warn,.sr-ln.sr-warn{background:#272115}
  .sr-conn-item.sr-new{background:#0c2d6b}
  .sr-conn path,.sr-link{mix-blend-mode:screen}
  .sr-chip.ready{background:var(--ready-bg)}.sr-chip.not-ready{background:var(--nr-bg)}.sr-chip.terminating{background:var(--term-bg)}
  .sr-textarea{color:var(--fg)}
  .sr-hint{background:#272115;border-color:#d29922}
  .sr-hits circle{fill:#1f6feb}
  .sr-primary,.sr-scenario.sr-on{background:#1f6feb!important;border-color:#1f6feb!important}
  @keyframes sr-pulse{0%{fill:var(--panel)}30%{fill:#6e5600;stroke:var(--warn)}100%{fill:var(--panel)}}
}
"#;

#[cfg(test)]
mod tests {
    //! WCAG 2.x contrast (the relative-luminance formula of WCAG 2.1, 1.4.3 and 1.4.11) of
    //! every text colour against the backgrounds it is drawn on (at least 4.5:1) and of lines
    //! and borders against what they sit on (at least 3:1), in the light and the dark palette,
    //! read from the stylesheet itself.
    use super::CSS;
    use std::collections::BTreeMap;

    /// The custom properties of the light palette (the first `.svcroute{--…}` block) and the
    /// dark one (the light palette overridden by the `prefers-color-scheme:dark` block).
    fn palettes() -> [BTreeMap<String, String>; 2] {
        let vars = |block: &str| -> BTreeMap<String, String> {
            block
                .split(';')
                .filter_map(|d| d.trim().strip_prefix("--"))
                .filter_map(|d| d.split_once(':'))
                .filter(|(_, v)| v.starts_with('#'))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        };
        let mut blocks = CSS.match_indices(".svcroute{--").map(|(i, _)| {
            let body = &CSS[i + ".svcroute{".len()..];
            vars(&body[..body.find('}').expect("a closed block")])
        });
        let light = blocks.next().expect("the light palette");
        let mut dark = light.clone();
        dark.extend(blocks.next().expect("the dark palette"));
        [light, dark]
    }

    fn luminance(hex: &str) -> f64 {
        let h = hex.trim_start_matches('#');
        let h: String = if h.len() == 3 {
            h.chars().flat_map(|c| [c, c]).collect()
        } else {
            h.to_owned()
        };
        let ch = |i: usize| {
            let c = f64::from(u8::from_str_radix(&h[i..i + 2], 16).expect("hex")) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(0) + 0.7152 * ch(2) + 0.0722 * ch(4)
    }

    fn ratio(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    const BACKGROUNDS: &[&str] = &[
        "bg",
        "panel",
        "box",
        "node",
        "ready-bg",
        "nr-bg",
        "term-bg",
        "vs-bg",
        "proxy-bg",
        "outside-bg",
        "unsel",
    ];

    // (foreground, backgrounds, minimum, where): a name is a palette variable, `#…` a colour
    // the stylesheet writes out (light, dark).
    fn pairs() -> Vec<(&'static str, Vec<&'static str>, f64, &'static str)> {
        vec![
            ("fg", BACKGROUNDS.to_vec(), 4.5, "text in every box"),
            (
                "muted",
                BACKGROUNDS.to_vec(),
                4.5,
                "small and muted text in every box",
            ),
            ("accent", vec!["bg", "panel"], 4.5, "links, chosen labels"),
            ("ok", vec!["bg", "panel"], 4.5, "ok text"),
            (
                "warn",
                vec!["bg", "panel", "nr-bg"],
                4.5,
                "warnings, the warned line number",
            ),
            (
                "bad",
                vec!["bg", "panel", "node", "outside-bg", "term-bg"],
                4.5,
                "errors, refused",
            ),
            (
                "edge",
                vec!["bg", "box", "node", "outside-bg"],
                3.0,
                "node, link and band lines",
            ),
            (
                "line",
                vec!["bg", "panel"],
                3.0,
                "panel, button, field and table borders",
            ),
            ("ok", vec!["ready-bg", "node"], 3.0, "a ready Pod's border"),
            (
                "warn",
                vec!["nr-bg", "node"],
                3.0,
                "a not-ready Pod's border",
            ),
            (
                "bad",
                vec!["term-bg", "node"],
                3.0,
                "a terminating / draining Pod's border",
            ),
            (
                "accent",
                vec!["bg", "node"],
                3.0,
                "the chosen node, connections, focus ring",
            ),
            (
                "vs-line",
                vec!["vs-bg", "node", "bg"],
                3.0,
                "a virtual server's border",
            ),
            (
                "proxy-line",
                vec!["proxy-bg", "node"],
                3.0,
                "kube-proxy's border",
            ),
            ("fg", vec!["bg", "outside-bg"], 3.0, "the cluster boundary"),
        ]
    }

    // Colours written out in rules, per palette: (foreground, background, minimum, where).
    const LITERAL: &[[(&str, &str, f64, &str); 2]] = &[
        [
            ("#ffffff", "#0969da", 4.5, "button on accent"),
            ("#ffffff", "#1f6feb", 4.5, "button on accent"),
        ],
        [
            ("#ffffff", "#cf222e", 4.5, "error line number"),
            ("#ffffff", "#cf222e", 4.5, "error line number"),
        ],
        [
            ("#116329", "#dafbe1", 4.5, "valid status"),
            ("#7ee787", "#12261e", 4.5, "valid status"),
        ],
        [
            ("#82071e", "#ffebe9", 4.5, "broken status"),
            ("#ffa198", "#2d1517", 4.5, "broken status"),
        ],
        [
            ("#8a5c00", "#dafbe1", 4.5, "warning in the valid status"),
            ("#d29922", "#12261e", 4.5, "warning in the valid status"),
        ],
        [
            ("#cf222e", "#ffebe9", 4.5, "error in the broken status"),
            ("#f85149", "#2d1517", 4.5, "error in the broken status"),
        ],
        [
            ("#1b1f24", "#fff8c5", 4.5, "indentation hint"),
            ("#e6edf3", "#272115", 4.5, "indentation hint"),
        ],
        [
            ("#1b1f24", "#ddf4ff", 4.5, "what to try"),
            ("#e6edf3", "#0c2d6b", 4.5, "what to try"),
        ],
        [
            ("#57606a", "#f1f8ff", 4.5, "new connection (muted)"),
            ("#9ea7b3", "#0c2d6b", 4.5, "new connection (muted)"),
        ],
        [
            ("#8250df", "#ffffff", 3.0, "DNS box border"),
            ("#8250df", "#0d1117", 3.0, "DNS box border"),
        ],
    ];

    #[test]
    fn text_and_lines_have_enough_contrast() {
        let mut failures = Vec::new();
        for (name, pal) in ["light", "dark"].iter().zip(palettes()) {
            let colour = |v: &str| -> String {
                pal.get(v)
                    .cloned()
                    .unwrap_or_else(|| panic!("--{v} in the {name} palette"))
            };
            for (fg, bgs, min, what) in pairs() {
                for bg in bgs {
                    let r = ratio(&colour(fg), &colour(bg));
                    if r < min {
                        failures.push(format!("{name}: --{fg} on --{bg} ({what}): {r:.2} < {min}"));
                    }
                }
            }
        }
        for pair in LITERAL {
            for (name, (fg, bg, min, what)) in ["light", "dark"].iter().zip(pair) {
                assert!(
                    CSS.contains(fg) || fg == &"#ffffff",
                    "{fg} is written in the stylesheet"
                );
                let r = ratio(fg, bg);
                if r < *min {
                    failures.push(format!("{name}: {fg} on {bg} ({what}): {r:.2} < {min}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    // The formula itself, on WCAG's own extremes and a known grey.
    #[test]
    fn the_ratio_is_wcags() {
        assert!((ratio("#000000", "#ffffff") - 21.0).abs() < 1e-9);
        assert!((ratio("#777777", "#ffffff") - 4.48).abs() < 0.01);
    }
}
