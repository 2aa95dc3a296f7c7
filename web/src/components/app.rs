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
use std::rc::Rc;

use super::announcer::Announcer;
use super::modes::{Modes, ModesPanel};
use crate::fragment::Fragment;
use crate::state::{Action, Init, State};
use crate::widget::{BridgeRef, Look, View};

/// Where the language choice is remembered.
pub const LANG_KEY: &str = "svcroute.lang";
/// The performance mark set after the first render.
pub const FIRST_RENDER_MARK: &str = "svcroute:first-render";

/// The playground's props.
#[derive(Clone, PartialEq, Properties)]
pub struct AppProps {
    /// How to start.
    pub init: Init,
    /// The starting state, when `mount` built it already.
    #[prop_or_default]
    pub start: Option<Rc<State>>,
    /// The layout.
    #[prop_or_default]
    pub view: View,
    /// The title instead of the built-in one.
    #[prop_or_default]
    pub title: Option<String>,
    /// The teacher's text instead of "What to try".
    #[prop_or_default]
    pub prompt: Option<String>,
    /// Whether the language switch is shown.
    #[prop_or(true)]
    pub show_language: bool,
    /// The widget handle's side.
    #[prop_or_default]
    pub bridge: Option<BridgeRef>,
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
    let start = props.start.clone();
    let state = use_reducer(move || match start {
        Some(s) => (*s).clone(),
        None => State::new(init),
    });
    let look = Look {
        title: props.title.clone(),
        prompt: props.prompt.clone(),
        scenario: crate::scenarios::Scenario::get(props.init.scenario.as_deref().unwrap_or("")).id,
        show_language: props.show_language,
        // The teacher's own manifests: given to `mount`, or later through `setManifest`.
        own_manifest: props
            .bridge
            .as_ref()
            .is_some_and(|b| props.init.manifest.is_some() || b.0.own_manifest.get()),
    };
    // The widget's handle: its sends and listeners meet the reducer here.
    if let Some(b) = &props.bridge {
        b.0.attach(state.dispatcher());
    }
    {
        let bridge = props.bridge.clone();
        let state = state.clone();
        use_effect(move || {
            if let Some(b) = bridge {
                b.0.after_render(&state);
            }
        });
    }

    // The state in the URL fragment, so that a link reproduces it.
    {
        let url = props.url;
        let fragment = state.fragment().encode();
        let step = state.history_step;
        use_effect_with(fragment, move |fragment| {
            if url && let Some(w) = web_sys::window() {
                let hash = format!("#{fragment}");
                let same = w.location().hash().ok().as_deref() == Some(hash.as_str());
                // An action is a step Back/Forward moves through; an edit or a switch of
                // language replaces the current entry.
                if !same && let Ok(h) = w.history() {
                    let _ = if step {
                        h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash))
                    } else {
                        h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash))
                    };
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
                        dispatcher.dispatch(Action::Restore(Box::new(f)));
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
    let try_text = look.try_text(&state);
    let body = if props.view == View::Modes {
        html! {
            <div class="svcroute sr-compact sr-modes-view" lang={tag} data-testid="playground" data-view="modes">
                <Header state={state.clone()} compact=true />
                <p class="sr-try" data-testid="try">{ try_text }</p>
                <Traffic state={state.clone()} compact=true />
                <Announcer state={state.clone()} />
                <ConnectionLog state={state.clone()} compact=true />
                <Modes state={state.clone()} />
                <details class="sr-more" open={!state.errors.is_empty()}>
                    <summary>{ t.manifest }</summary>
                    <Editor state={state.clone()} compact=true />
                </details>
            </div>
        }
    } else if props.compact {
        html! {
            <div class="svcroute sr-compact" lang={tag} data-testid="playground" data-compact="true" data-view="compact">
                <Header state={state.clone()} compact=true />
                <p class="sr-try" data-testid="try">{ try_text }</p>
                <Picture state={state.clone()} compact=true />
                <Traffic state={state.clone()} compact=true />
                <Announcer state={state.clone()} />
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
        }
    } else {
        html! {
        <div class="svcroute" lang={tag} data-testid="playground" data-view="full">
            <Header state={state.clone()} />
            <ScenarioBar state={state.clone()} />
            <Announcer state={state.clone()} />
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
            <section class="sr-panel sr-p-modes" aria-label={state.lang.modes().show_modes}>
                <ModesPanel state={state.clone()} />
            </section>
            <footer class="sr-footer">
                <p>{ t.footer }</p>
                <p>{ t.share }</p>
            </footer>
        </div>
        }
    };
    html! {
        <ContextProvider<Look> context={look}>{ body }</ContextProvider<Look>>
    }
}
