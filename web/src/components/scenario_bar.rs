//! The seed notes' scenarios, one click each (a scenario's edits are kept while another is
//! shown), undo of the last action, and what to try in the chosen one (or the teacher's
//! `prompt`).

use yew::prelude::*;

use super::PanelProps;
use crate::scenarios::ALL;
use crate::state::Action;
use crate::widget::Look;

/// Buttons for the scenarios and the chosen one's text.
#[function_component(ScenarioBar)]
pub fn scenario_bar(props: &PanelProps) -> Html {
    let state = &props.state;
    let t = state.lang.t();
    let look = use_context::<Look>().unwrap_or_default();
    let undo = {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(Action::Undo))
    };
    let zh = state.lang == crate::i18n::Lang::Zh;
    html! {
        <nav class="sr-scenarios" aria-label={t.scenarios}>
            <div class="sr-scenario-buttons" role="group" aria-label={t.scenarios}>
                { for ALL.iter().map(|s| {
                    let d = state.dispatcher();
                    let id = s.id;
                    let pressed = state.scenario.id == id;
                    html! {
                        <button type="button" class={classes!("sr-scenario", pressed.then_some("sr-on"))}
                            aria-pressed={pressed.to_string()}
                            data-testid={format!("scenario-{id}")}
                            onclick={Callback::from(move |_| d.dispatch(Action::Scenario(id.into())))}>
                            { s.title }
                        </button>
                    }
                }) }
            </div>
            // Right after the scenarios: a link to the traffic controls (Tab order).
            <a class="sr-skip" href="#" data-testid="skip" onclick={skip_to_traffic()}>
                { if zh { "跳到发送连接" } else { "Skip to sending connections" } }
            </a>
            <button type="button" class="sr-small sr-undo" data-testid="undo-action" disabled={state.past.is_empty()}
                aria-label={if zh { "撤销上一步操作" } else { "Undo the last action" }}
                onclick={undo}>{ if zh { "↶ 撤销" } else { "↶ Undo" } }</button>
            <p class="sr-try" data-testid="try"><strong>{ t.try_this }{ ": " }</strong>{ look.try_text(state) }</p>
        </nav>
    }
}

/// The skip link's action: focus the first traffic control (the link lives in a shadow root,
/// so it moves focus itself instead of following a `#id`).
fn skip_to_traffic() -> Callback<MouseEvent> {
    Callback::from(|e: MouseEvent| {
        e.prevent_default();
        let target: Option<web_sys::Element> = e.target_dyn_into();
        let root = target.and_then(|t| t.closest(".svcroute").ok().flatten());
        if let Some(el) = root
            .and_then(|r| {
                r.query_selector("[data-testid=traffic] select, [data-testid=traffic] button")
                    .ok()
                    .flatten()
            })
            .and_then(|el| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el).ok())
        {
            let _ = el.focus();
        }
    })
}
