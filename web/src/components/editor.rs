//! The manifest editor: a plain textarea over a backdrop that marks the lines the core's
//! diagnostics point at, a gutter of line numbers, and the diagnostics as the CLI prints them
//! (`error: manifest.yaml:7:3: …`). Choosing a diagnostic moves the caret to its line and
//! column.

use std::collections::BTreeMap;

use svcroute_core::diag::{Diagnostic, Severity};
use web_sys::{Element, HtmlTextAreaElement};
use yew::prelude::*;

use super::PanelProps;
use crate::state::Action;

/// The manifests, with errors at their lines.
#[function_component(Editor)]
pub fn editor(props: &PanelProps) -> Html {
    let state = &props.state;
    let t = state.lang.t();
    let area = use_node_ref();
    let gutter = use_node_ref();
    let text = state.text.clone();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut marks: BTreeMap<u32, Vec<&Diagnostic>> = BTreeMap::new();
    for d in state.errors.iter() {
        if let Some(loc) = &d.loc {
            marks.entry(loc.line).or_default().push(d);
        }
    }
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
            d.dispatch(Action::Edit(ta.value()));
        })
    };
    let line_class = |n: u32| {
        marks.get(&n).map(|ds| {
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
            if let Some(g) = gutter.cast::<Element>()
                && let Ok(Some(el)) = g.query_selector(&format!("[data-line=\"{line}\"]"))
            {
                el.scroll_into_view_with_bool(false);
            }
        })
    };
    html! {
        <div class="sr-editor-wrap">
            if !props.compact {
                <h2 class="sr-h">{ t.manifest }</h2>
                <p class="sr-help">{ t.manifest_help }</p>
            }
            <div class="sr-editor" data-testid="editor">
                <div class="sr-gutter" aria-hidden="true" ref={gutter}>
                    { for (1..=lines.len() as u32).map(|n| {
                        let title = marks.get(&n).map(|ds| ds.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("\n"));
                        html! {
                            <div class={classes!("sr-ln", line_class(n))} data-line={n.to_string()} title={title}>{ n }</div>
                        }
                    }) }
                </div>
                <div class="sr-code">
                    <div class="sr-backdrop" aria-hidden="true">
                        { for lines.iter().enumerate().map(|(i, l)| html! {
                            <div class={classes!("sr-bl", line_class(i as u32 + 1))}>{ if l.is_empty() { " " } else { l } }</div>
                        }) }
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
                } else {
                    <p>{ t.valid }</p>
                }
                if !state.errors.is_empty() {
                    <ul class="sr-diags" data-testid="diagnostics">
                        { for state.errors.iter().map(|d| {
                            let level = match d.severity { Severity::Error => "error", Severity::Warning => "warning" };
                            let text = format!("{level}: {d}");
                            match &d.loc {
                                Some(loc) => html! {
                                    <li><button type="button" class={classes!("sr-diag", level)}
                                        data-testid="diagnostic" data-line={loc.line.to_string()} data-col={loc.col.to_string()}
                                        onclick={jump(loc.line, loc.col)}>{ text }</button></li>
                                },
                                None => html! { <li class={classes!("sr-diag", level)} data-testid="diagnostic">{ text }</li> },
                            }
                        }) }
                    </ul>
                }
            </div>
        </div>
    }
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
    fn offsets() {
        assert_eq!(super::utf16_offset("ab\ncd\n", 2, 2), 4);
        assert_eq!(super::utf16_offset("中\nx", 2, 1), 2);
        assert_eq!(super::utf16_offset("a", 9, 1), 2);
    }
}
