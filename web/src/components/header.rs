//! The title and the language switch.

use yew::prelude::*;

use super::PanelProps;
use crate::state::Action;

/// The title, a one-line summary and the language switch.
#[function_component(Header)]
pub fn header(props: &PanelProps) -> Html {
    let state = &props.state;
    let t = state.lang.t();
    let other = state.lang.other();
    let switch = {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(Action::Lang(other)))
    };
    let button = html! {
        <button type="button" class="sr-lang" data-testid="lang" lang={other.tag()}
            aria-label={format!("{} / Language: {}", t.switch_to, other.t().lang_name)}
            onclick={switch}>{ t.switch_to }</button>
    };
    if props.compact {
        return html! {
            <header class="sr-header">
                <h2 class="sr-title">{ format!("svcroute · {}", state.scenario.title) }</h2>
                { button }
            </header>
        };
    }
    html! {
        <header class="sr-header">
            <div>
                <h1 class="sr-title">{ t.title }</h1>
                <p class="sr-subtitle">{ t.subtitle }</p>
            </div>
            { button }
        </header>
    }
}
