//! The title (the widget's `title` option, or the built-in one) and the language switch
//! (hidden by `showLanguage: false`).

use yew::prelude::*;

use super::PanelProps;
use crate::state::Action;
use crate::widget::Look;

/// The title, a one-line summary and the language switch.
#[function_component(Header)]
pub fn header(props: &PanelProps) -> Html {
    let state = &props.state;
    let ctx = use_context::<Look>();
    let show_language = ctx.as_ref().is_none_or(|l| l.show_language);
    let look = ctx.unwrap_or_default();
    let t = state.lang.t();
    let other = state.lang.other();
    let switch = {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(Action::Lang(other)))
    };
    let button = if !show_language {
        html! {}
    } else {
        html! {
        <button type="button" class="sr-lang" data-testid="lang" lang={other.tag()}
            aria-label={format!("{} / Language: {}", t.switch_to, other.t().lang_name)}
            onclick={switch}>{ t.switch_to }</button>
        }
    };
    if props.compact {
        return html! {
            <header class="sr-header">
                <h2 class="sr-title" data-testid="title">{ look.title.clone().unwrap_or_else(|| {
                    // Over the teacher's own manifest the scenario's name would not fit it.
                    if look.own_manifest && state.scenario.id == look.scenario {
                        "svcroute".to_owned()
                    } else {
                        format!("svcroute · {}", state.scenario.title)
                    }
                }) }</h2>
                { button }
            </header>
        };
    }
    html! {
        <header class="sr-header">
            <div>
                <h1 class="sr-title" data-testid="title">{ look.title.clone().unwrap_or_else(|| t.title.to_owned()) }</h1>
                <p class="sr-subtitle">{ t.subtitle }</p>
            </div>
            { button }
        </header>
    }
}
