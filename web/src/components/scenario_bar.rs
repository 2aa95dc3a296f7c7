//! The seed notes' scenarios, one click each, with what to try in the chosen one.

use yew::prelude::*;

use super::PanelProps;
use crate::scenarios::ALL;
use crate::state::Action;

/// Buttons for the scenarios and the chosen one's text.
#[function_component(ScenarioBar)]
pub fn scenario_bar(props: &PanelProps) -> Html {
    let state = &props.state;
    let t = state.lang.t();
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
            <p class="sr-try" data-testid="try"><strong>{ t.try_this }{ ": " }</strong>{ state.scenario.try_text(state.lang) }</p>
        </nav>
    }
}
