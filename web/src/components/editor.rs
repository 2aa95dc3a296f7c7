//! The manifest editor: a plain textarea over a backdrop that marks the lines the core's
//! diagnostics point at, a gutter of line numbers, and the diagnostics as the CLI prints them
//! (`error: manifest.yaml:7:3: …`). Choosing a diagnostic moves the caret to its line and
//! column.
//!
//! Large texts: above [`WINDOW_FROM`] lines only the lines in view (and a margin) get a gutter
//! number and a backdrop line, and above [`DEBOUNCE_FROM`] bytes the core runs once typing
//! pauses for [`DEBOUNCE_MS`], not on every keystroke. A text whose indentation was lost (as
//! when YAML is copied from a page that flattened it) gets a hint in the status line.

use svcroute_core::diag::{Diagnostic, Severity};
use web_sys::{Element, HtmlTextAreaElement};
use yew::prelude::*;

use super::PanelProps;
use crate::i18n::Lang;
use crate::state::Action;

/// Above this many lines the gutter and the backdrop hold only the lines in view.
pub const WINDOW_FROM: usize = 400;
/// Lines drawn above and below the view.
const MARGIN: usize = 120;
/// Line height in CSS pixels (`.sr-editor`'s `line-height`).
const LINE_PX: u32 = 20;
/// Above this many bytes an edit waits for a pause in typing.
pub const DEBOUNCE_FROM: usize = 20_000;
/// The pause, in milliseconds.
pub const DEBOUNCE_MS: u32 = 200;

/// The manifests, with errors at their lines.
#[function_component(Editor)]
pub fn editor(props: &PanelProps) -> Html {
    let state = &props.state;
    let t = state.lang.t();
    let area = use_node_ref();
    let gutter = use_node_ref();
    let view = use_state(|| (0u32, 600u32));
    let pending = use_mut_ref(|| None::<gloo::timers::callback::Timeout>);
    let text = state.text.clone();
    let lines: Vec<&str> = text.split('\n').collect();
    let windowed = lines.len() > WINDOW_FROM;
    let (first, last) = if windowed {
        let (top, height) = *view;
        let a = (top / LINE_PX) as usize;
        let b = ((top + height) / LINE_PX) as usize;
        (a.saturating_sub(MARGIN), (b + MARGIN).min(lines.len()))
    } else {
        (0, lines.len())
    };
    let longest = if windowed {
        lines
            .iter()
            .copied()
            .max_by_key(|l| l.chars().count())
            .unwrap_or("")
    } else {
        ""
    };
    let onscroll_frame = {
        let view = view.clone();
        Callback::from(move |e: Event| {
            if !windowed {
                return;
            }
            let el: Element = e.target_unchecked_into();
            // In steps of 20 lines, so that scrolling re-renders now and then, not per pixel.
            let step = LINE_PX * 20;
            let top = (el.scroll_top().max(0) as u32) / step * step;
            let h = el.client_height().max(0) as u32;
            if (top, h) != *view {
                view.set((top, h));
            }
        })
    };
    let hint = flattened(&text).then(|| match state.lang {
        Lang::En => "This YAML has lost its indentation: every line starts at column 1, so fields that belong under metadata:, spec: or ports: are read as top-level ones. Indent each nested field by two spaces (list items under ports: by two more), or start from the scenario's manifest and change it.",
        Lang::Zh => "这段 YAML 丢失了缩进：每一行都从第 1 列开始，原本属于 metadata:、spec: 或 ports: 之下的字段被当成了顶层字段。请把每个嵌套字段缩进两个空格（ports: 下的列表项再多两个），或者从场景自带的清单开始修改。",
    });
    // A valid text's warnings (the reader's, as an unknown kind, and the plan's, as a
    // targetPort naming no container port) come with the plan; a broken text's with its errors.
    let model = state.model.clone();
    let shown: &[Diagnostic] = if state.errors.is_empty() {
        model
            .as_deref()
            .and_then(|m| m.plan_of(state.node.as_deref()))
            .map_or(&[], |p| p.diagnostics.as_slice())
    } else {
        state.errors.as_slice()
    };
    let warnings = shown.iter().filter(|d| !d.is_error()).count();
    // (line, diagnostic) by line, each line's in their order: a list searched by halves (no
    // map type of its own in the wasm build).
    let mut marks: Vec<(u32, &Diagnostic)> = shown
        .iter()
        .filter_map(|d| d.loc.as_ref().map(|loc| (loc.line, d)))
        .collect();
    svcroute_core::sort::sort_by_key(&mut marks, |m| m.0);
    let marks_at = |n: u32| -> Option<Vec<&Diagnostic>> {
        let at = svcroute_core::sort::equal_range(&marks, |m| m.0, n);
        (!at.is_empty()).then(|| at.iter().map(|m| m.1).collect())
    };
    let broken = state.errors.iter().any(Diagnostic::is_error);
    // The textarea is as large as its text and never scrolls itself: the frame around it does,
    // so the gutter, the error marks and the text stay aligned.
    let onscroll = Callback::from(|e: Event| {
        let ta: HtmlTextAreaElement = e.target_unchecked_into();
        ta.set_scroll_top(0);
        ta.set_scroll_left(0);
    });
    // A new scenario starts at its first line.
    {
        let gutter = gutter.clone();
        use_effect_with(state.scenario.id, move |_| {
            if let Some(frame) = gutter.cast::<Element>().and_then(|g| g.parent_element()) {
                frame.set_scroll_top(0);
                frame.set_scroll_left(0);
            }
        });
    }
    let oninput = {
        let d = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            let ta: HtmlTextAreaElement = e.target_unchecked_into();
            let value = ta.value();
            if value.len() < DEBOUNCE_FROM {
                pending.borrow_mut().take();
                d.dispatch(Action::Edit(value));
                return;
            }
            let d = d.clone();
            // Replacing the timer cancels the one before: only the pause's text is planned.
            *pending.borrow_mut() = Some(gloo::timers::callback::Timeout::new(
                DEBOUNCE_MS,
                move || d.dispatch(Action::Edit(value)),
            ));
        })
    };
    let line_class = |n: u32| {
        marks_at(n).map(|ds| {
            if ds.iter().any(|d| d.is_error()) {
                "sr-err"
            } else {
                "sr-warn"
            }
        })
    };
    let (area2, gutter2, text2) = (area.clone(), gutter.clone(), text.clone());
    let jump = move |line: u32, col: u32| {
        let area = area2.clone();
        let gutter = gutter2.clone();
        let text = text2.clone();
        Callback::from(move |_| {
            let offset = utf16_offset(&text, line, col);
            if let Some(ta) = area.cast::<HtmlTextAreaElement>() {
                let _ = ta.focus();
                let _ = ta.set_selection_range(offset, offset);
            }
            if let Some(g) = gutter.cast::<Element>() {
                if let Ok(Some(el)) = g.query_selector(&format!("[data-line=\"{line}\"]")) {
                    el.scroll_into_view_with_bool(false);
                } else if let Some(frame) = g.parent_element() {
                    // A line outside the drawn window: scroll the frame to it.
                    let y = (line.saturating_sub(1) * LINE_PX) as i32 - frame.client_height() / 2;
                    frame.set_scroll_top(y.max(0));
                }
            }
        })
    };
    html! {
        <div class="sr-editor-wrap">
            if !props.compact {
                <h2 class="sr-h">{ t.manifest }</h2>
                <p class="sr-help">{ t.manifest_help }</p>
            }
            <div class="sr-editor" data-testid="editor" data-windowed={windowed.to_string()} onscroll={onscroll_frame}>
                <div class="sr-gutter" aria-hidden="true" ref={gutter}>
                    if first > 0 { <div style={format!("height:{}px", first as u32 * LINE_PX)}></div> }
                    { for (first as u32 + 1..=last as u32).map(|n| {
                        let title = marks_at(n).map(|ds| ds.iter().map(|d| crate::messages::hover(&crate::messages::diagnostic_message(d, state.lang), &d.message)).collect::<Vec<_>>().join("\n"));
                        html! {
                            <div class={classes!("sr-ln", line_class(n))} data-line={n.to_string()} title={title}>{ n }</div>
                        }
                    }) }
                    if last < lines.len() { <div style={format!("height:{}px", (lines.len() - last) as u32 * LINE_PX)}></div> }
                </div>
                <div class="sr-code">
                    <div class="sr-backdrop" aria-hidden="true">
                        if windowed { <div style="height:0;overflow:hidden">{ longest }</div> }
                        if first > 0 { <div style={format!("height:{}px", first as u32 * LINE_PX)}></div> }
                        { for lines[first..last].iter().enumerate().map(|(i, l)| html! {
                            <div class={classes!("sr-bl", line_class((first + i) as u32 + 1))}>{ if l.is_empty() { " " } else { l } }</div>
                        }) }
                        if last < lines.len() { <div style={format!("height:{}px", (lines.len() - last) as u32 * LINE_PX)}></div> }
                    </div>
                    <textarea ref={area} class="sr-textarea" data-testid="manifest" spellcheck="false"
                        wrap="off" autocapitalize="off" autocomplete="off"
                        aria-label={t.manifest} aria-invalid={broken.to_string()}
                        value={state.text.clone()} {oninput} {onscroll} />
                </div>
            </div>
            <div class={classes!("sr-status", if broken { "sr-bad" } else { "sr-good" })} role="status" data-testid="status">
                if broken {
                    <p>{ t.broken }</p>
                } else if warnings > 0 {
                    <p data-testid="warning-count">{ match state.lang {
                        Lang::En => format!("{} {warnings} warning{}:", t.valid, if warnings == 1 { "" } else { "s" }),
                        Lang::Zh => format!("{}（{warnings} 条警告）：", t.valid),
                    } }</p>
                } else {
                    <p>{ t.valid }</p>
                }
                if let Some(h) = hint {
                    <p class="sr-hint" data-testid="indent-hint">{ h }</p>
                }
                if !shown.is_empty() {
                    <ul class="sr-diags" data-testid="diagnostics">
                        { for shown.iter().map(|d| {
                            let level = match d.severity { Severity::Error => "error", Severity::Warning => "warning" };
                            let text = crate::messages::diagnostic(d, state.lang);
                            let english = (state.lang != Lang::En).then(|| format!("{level}: {d}"));
                            match &d.loc {
                                Some(loc) => html! {
                                    <li><button type="button" class={classes!("sr-diag", level)}
                                        data-testid="diagnostic" data-line={loc.line.to_string()} data-col={loc.col.to_string()}
                                        title={english} onclick={jump(loc.line, loc.col)}>{ text }</button></li>
                                },
                                None => html! { <li class={classes!("sr-diag", level)} data-testid="diagnostic" title={english}>{ text }</li> },
                            }
                        }) }
                    </ul>
                }
            </div>
        </div>
    }
}

/// Whether the text looks like YAML whose indentation was lost: several mapping keys, no
/// line indented, and a key with an empty value (`metadata:`, `spec:`) followed directly by
/// another key at the same column, which is what nesting looked like before it was flattened.
pub fn flattened(text: &str) -> bool {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end())
        .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "---")
        .collect();
    let key = |l: &str| {
        l.split_once(':').is_some_and(|(k, _)| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
    };
    if lines.len() < 4
        || lines
            .iter()
            .any(|l| l.starts_with(' ') || l.starts_with('\t'))
    {
        return false;
    }
    lines.windows(2).any(|w| {
        let opens = matches!(
            w[0],
            "metadata:"
                | "spec:"
                | "selector:"
                | "template:"
                | "labels:"
                | "ports:"
                | "matchLabels:"
        );
        opens && (key(w[1]) || w[1].starts_with("- "))
    })
}

/// The textarea offset (UTF-16 code units) of a 1-based line and column (the core counts
/// columns in characters).
fn utf16_offset(text: &str, line: u32, col: u32) -> u32 {
    let mut offset = 0u32;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line as usize {
            let within: u32 = l
                .chars()
                .take(col.saturating_sub(1) as usize)
                .map(|c| c.len_utf16() as u32)
                .sum();
            return offset + within;
        }
        offset += l.chars().map(|c| c.len_utf16() as u32).sum::<u32>() + 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    #[test]
    fn flattened_indentation_is_noticed() {
        let flat =
            "apiVersion: v1\nkind: Service\nmetadata:\nname: web\nspec:\nports:\n- port: 80\n";
        assert!(super::flattened(flat));
        let good = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n";
        assert!(!super::flattened(good));
        assert!(!super::flattened("a: 1\n"));
    }

    #[test]
    fn offsets() {
        assert_eq!(super::utf16_offset("ab\ncd\n", 2, 2), 4);
        assert_eq!(super::utf16_offset("中\nx", 2, 1), 2);
        assert_eq!(super::utf16_offset("a", 9, 1), 2);
    }
}
