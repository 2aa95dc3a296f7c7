//! The playground: the reducer, the effects that talk to the browser (URL fragment, stored
//! language, the first-render mark), and the layout of the panels.

use gloo::events::EventListener;
use yew::prelude::*;

use super::cluster_actions::ClusterActions;
use super::connection_log::ConnectionLog;
use super::editor::Editor;
use super::header::Header;
use super::picture::Picture;
use super::rules::Rules;
use super::scenario_bar::ScenarioBar;
use super::traffic::Traffic;
use crate::fragment::Fragment;
use crate::state::{Action, Init, State};

/// Where the language choice is remembered.
pub const LANG_KEY: &str = "svcroute.lang";
/// The performance mark set after the first render.
pub const FIRST_RENDER_MARK: &str = "svcroute:first-render";

/// The playground's props.
#[derive(Clone, PartialEq, Properties)]
pub struct AppProps {
    /// How to start.
    pub init: Init,
    /// A compact single-scenario view (for teaching pages) instead of the full playground.
    #[prop_or_default]
    pub compact: bool,
    /// Keep the state in the URL fragment and follow it.
    #[prop_or_default]
    pub url: bool,
}

/// The playground.
#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let init = props.init.clone();
    let state = use_reducer(move || State::new(init));

    // The state in the URL fragment, so that a link reproduces it.
    {
        let url = props.url;
        let fragment = state.fragment().encode();
        use_effect_with(fragment, move |fragment| {
            if url && let Some(w) = web_sys::window() {
                let hash = format!("#{fragment}");
                let same = w.location().hash().ok().as_deref() == Some(hash.as_str());
                if !same && let Ok(h) = w.history() {
                    let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash));
                }
            }
        });
    }
    // Following the fragment when the learner pastes a link or goes back.
    {
        let dispatcher = state.dispatcher();
        use_effect_with(props.url, move |&url| {
            let listener = url.then(|| {
                let w = gloo::utils::window();
                EventListener::new(&w, "hashchange", move |_| {
                    let hash = gloo::utils::window().location().hash().unwrap_or_default();
                    if let Some(f) = Fragment::decode(&hash) {
                        dispatcher.dispatch(Action::Restore(f));
                    }
                })
            });
            move || drop(listener)
        });
    }
    // The language is remembered.
    use_effect_with(state.lang, |lang| {
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = s.set_item(LANG_KEY, lang.code());
        }
    });
    // Time to first render, for the e2e test and for anyone with the devtools open.
    use_effect_with((), |_| {
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.mark(FIRST_RENDER_MARK);
        }
    });

    let t = state.lang.t();
    let tag = state.lang.tag();
    if props.compact {
        return html! {
            <div class="svcroute sr-compact" lang={tag} data-testid="playground" data-compact="true">
                <Header state={state.clone()} compact=true />
                <p class="sr-try">{ state.scenario.try_text(state.lang) }</p>
                <Picture state={state.clone()} compact=true />
                <Traffic state={state.clone()} compact=true />
                <ConnectionLog state={state.clone()} compact=true />
                <details class="sr-more">
                    <summary>{ t.rules }</summary>
                    <Rules state={state.clone()} compact=true />
                </details>
                <details class="sr-more">
                    <summary>{ t.actions }</summary>
                    <ClusterActions state={state.clone()} compact=true />
                </details>
                <details class="sr-more" open={!state.errors.is_empty()}>
                    <summary>{ t.manifest }</summary>
                    <Editor state={state.clone()} compact=true />
                </details>
            </div>
        };
    }
    html! {
        <div class="svcroute" lang={tag} data-testid="playground">
            <Header state={state.clone()} />
            <ScenarioBar state={state.clone()} />
            <div class="sr-grid">
                <div class="sr-col">
                    <section class="sr-panel sr-p-editor" aria-label={t.manifest}>
                        <Editor state={state.clone()} />
                    </section>
                    <section class="sr-panel sr-p-actions" aria-label={t.actions}>
                        <ClusterActions state={state.clone()} />
                    </section>
                </div>
                <div class="sr-col">
                    <section class="sr-panel sr-p-picture" aria-label={t.picture}>
                        <Picture state={state.clone()} />
                        <Traffic state={state.clone()} />
                        <ConnectionLog state={state.clone()} />
                    </section>
                    <section class="sr-panel sr-p-rules" aria-label={t.rules}>
                        <Rules state={state.clone()} />
                    </section>
                </div>
            </div>
            <footer class="sr-footer">
                <p>{ t.footer }</p>
                <p>{ t.share }</p>
            </footer>
        </div>
    }
}
