//! The components in headless Chromium (wasm-bindgen-test with chromedriver): `mount` puts
//! the playground into an element, and each panel reacts to the learner's actions with what
//! the core answers. Each test mounts its own element, without the URL fragment.
#![cfg(target_arch = "wasm32")]

use js_sys::{JSON, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlSelectElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Lets yew render after an action. 30 ms was too short on a loaded machine (two tests failed
/// once while a VM test ran beside them, and passed alone); 150 ms costs ~3 s for the file.
async fn tick() {
    let p = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 150)
            .expect("timeout");
    });
    JsFuture::from(p).await.expect("tick");
}

fn mount(options: &str) -> (Element, svcroute_web::Playground) {
    let doc = web_sys::window().expect("window").document().expect("doc");
    let el = doc.create_element("div").expect("div");
    doc.body().expect("body").append_child(&el).expect("append");
    let opts = JSON::parse(options).expect("json");
    let p = svcroute_web::mount(el.clone(), opts).expect("mount");
    // The widget lives in the element's open shadow root, in one container.
    let inner = el
        .shadow_root()
        .expect("an open shadow root")
        .query_selector(".sr-host")
        .expect("selector")
        .expect("the container");
    (inner, p)
}

fn all(el: &Element, sel: &str) -> Vec<Element> {
    let list = el.query_selector_all(sel).expect("selector");
    (0..list.length())
        .filter_map(|i| list.item(i).and_then(|n| n.dyn_into::<Element>().ok()))
        .collect()
}

fn one(el: &Element, sel: &str) -> Element {
    el.query_selector(sel)
        .expect("selector")
        .unwrap_or_else(|| panic!("no {sel}"))
}

fn click(el: &Element, sel: &str) {
    one(el, sel).unchecked_into::<HtmlElement>().click();
}

fn text(el: &Element, sel: &str) -> String {
    one(el, sel).text_content().unwrap_or_default()
}

fn attr(e: &Element, a: &str) -> String {
    e.get_attribute(a).unwrap_or_default()
}

fn choose(el: &Element, sel: &str, value: &str) {
    let s: HtmlSelectElement = one(el, sel).unchecked_into();
    s.set_value(value);
    let ev = web_sys::Event::new("change").expect("event");
    s.dispatch_event(&ev).expect("dispatch");
}

fn type_text(el: &Element, value: &str) {
    let ta: HtmlTextAreaElement = one(el, "[data-testid=manifest]").unchecked_into();
    ta.set_value(value);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let ev = web_sys::Event::new_with_event_init_dict("input", &init).expect("event");
    ta.dispatch_event(&ev).expect("dispatch");
}

fn hits(el: &Element) -> Vec<String> {
    let mut h: Vec<String> = all(el, "[data-testid=pod]")
        .iter()
        .map(|p| attr(p, "data-hits"))
        .collect();
    h.sort();
    h
}

#[wasm_bindgen_test]
async fn the_default_scenario_shows_the_vip_and_three_pods() {
    let (el, _p) = mount(r#"{"url": false, "lang": "en"}"#);
    tick().await;
    assert_eq!(
        all(&el, "[data-testid=entry][data-target=\"10.97.97.97:80\"]").len(),
        all(&el, "[data-testid=kube-proxy]").len(),
        "the VIP in every node's kube-proxy table"
    );
    let pods = all(&el, "[data-testid=pod]");
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| attr(p, "data-in-rules") == "true"));
    let rules = text(&el, "[data-testid=ipvsadm]");
    assert!(rules.contains("TCP  10.97.97.97:80 rr"), "{rules}");
    assert_eq!(rules.matches("Masq").count(), 3, "{rules}");
    assert!(text(&el, "[data-testid=status]").contains("Valid"));
}

#[wasm_bindgen_test]
async fn a_burst_spreads_over_the_pods_and_the_outside_client_is_refused() {
    let (el, _p) = mount(r#"{"url": false}"#);
    tick().await;
    click(&el, "[data-testid=burst]");
    tick().await;
    assert_eq!(all(&el, "[data-testid=conn]").len(), 6);
    // Two of the six come from the machine outside the cluster: a ClusterIP is unreachable.
    // Each node's table keeps its own rr position.
    assert_eq!(hits(&el), ["0", "2", "2"]);
    assert_eq!(
        all(&el, "[data-testid=conn-path][data-refused=true]").len(),
        2
    );
    assert_eq!(all(&el, "[data-testid=conn-path]").len(), 6);
    assert_eq!(
        one(&el, "[data-testid=clock]")
            .get_attribute("data-ms")
            .as_deref(),
        Some("6000")
    );
}

#[wasm_bindgen_test]
async fn a_broken_manifest_is_marked_at_its_line_and_the_last_good_state_stays() {
    let (el, _p) = mount(r#"{"url": false}"#);
    tick().await;
    let ta: HtmlTextAreaElement = one(&el, "[data-testid=manifest]").unchecked_into();
    let good = ta.value();
    let broken = good.replace("\n  ports:\n", "\n  port:\n");
    let line = broken
        .lines()
        .position(|l| l == "  port:")
        .expect("the Service's ports line")
        + 1;
    type_text(&el, &broken);
    tick().await;
    let marked: Vec<String> = all(&el, ".sr-ln.sr-err")
        .iter()
        .map(|e| attr(e, "data-line"))
        .collect();
    assert!(
        marked.contains(&line.to_string()),
        "{marked:?} lacks {line}"
    );
    let diag = one(
        &el,
        &format!("[data-testid=diagnostic][data-line=\"{line}\"]"),
    );
    let d = diag.text_content().unwrap_or_default();
    assert!(
        d.starts_with(&format!("error: manifest.yaml:{line}:3: ")) && d.contains("spec.port"),
        "{d}"
    );
    // The last good state stays on screen.
    assert_eq!(all(&el, "[data-testid=stale]").len(), 1);
    assert_eq!(all(&el, "[data-testid=pod]").len(), 3);
    assert!(text(&el, "[data-testid=ipvsadm]").contains("10.97.97.97:80"));
    // Choosing the diagnostic puts the caret on the line.
    diag.unchecked_ref::<HtmlElement>().click();
    let caret = ta.selection_start().ok().flatten().expect("caret") as usize;
    assert_eq!(broken[..caret].matches('\n').count() + 1, line);
    // Fixed, it is valid again.
    type_text(&el, &good);
    tick().await;
    assert!(all(&el, ".sr-ln.sr-err").is_empty());
    assert!(all(&el, "[data-testid=stale]").is_empty());
}

#[wasm_bindgen_test]
async fn pod_actions_change_the_rules() {
    let (el, _p) = mount(r#"{"url": false}"#);
    tick().await;
    let rows = all(&el, "[data-testid=pod-row]");
    let victim = attr(&rows[0], "data-pod");
    click(&rows[0], "[data-testid=make-not-ready]");
    tick().await;
    let pod = one(&el, &format!("[data-testid=pod][data-pod=\"{victim}\"]"));
    assert_eq!(attr(&pod, "data-state"), "not-ready");
    assert_eq!(attr(&pod, "data-in-rules"), "false");
    assert_eq!(
        text(&el, "[data-testid=ipvsadm]").matches("Masq").count(),
        2
    );
    let ops: Vec<String> = all(&el, "[data-testid=op]")
        .iter()
        .filter_map(|o| o.text_content())
        .collect();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(
        ops[0].starts_with("- ipvsadm -d -t 10.97.97.97:80 -r "),
        "{ops:?}"
    );

    // Terminating: still listed, not a real server while another is ready.
    let rows = all(&el, "[data-testid=pod-row]");
    let second = attr(&rows[1], "data-pod");
    click(&rows[1], "[data-testid=terminate]");
    tick().await;
    let pod = one(&el, &format!("[data-testid=pod][data-pod=\"{second}\"]"));
    assert_eq!(attr(&pod, "data-state"), "terminating");
    // The ReplicaSet controller no longer counts a terminating Pod: a replacement appears.
    assert_eq!(all(&el, "[data-testid=pod]").len(), 4);

    // Deleting: the Deployment replaces the Pod under a new name (a deleted terminating Pod
    // is simply gone: its replacement exists already).
    let rows = all(&el, "[data-testid=pod-row]");
    let third = attr(&rows[2], "data-pod");
    click(&rows[2], "[data-testid=delete]");
    tick().await;
    let names: Vec<String> = all(&el, "[data-testid=pod]")
        .iter()
        .map(|p| attr(p, "data-pod"))
        .collect();
    let expected = if third == second { 3 } else { 4 };
    assert_eq!(names.len(), expected, "{names:?}");
    assert!(!names.contains(&third), "{names:?}");

    // Scaling up makes one more Pod; undo brings the three back.
    click(&el, "[data-testid=scale-up]");
    tick().await;
    assert_eq!(all(&el, "[data-testid=pod]").len(), expected + 1);
    click(&el, "[data-testid=undo]");
    tick().await;
    assert_eq!(all(&el, "[data-testid=pod]").len(), 3);
    assert_eq!(
        text(&el, "[data-testid=ipvsadm]").matches("Masq").count(),
        3
    );
}

#[wasm_bindgen_test]
async fn affinity_and_scheduler_are_programmed() {
    let (el, _p) = mount(r#"{"url": false}"#);
    tick().await;
    // The default timeoutSeconds (10800), as the option names it.
    choose(&el, "[data-testid=affinity]", "ClientIP:10800");
    tick().await;
    assert!(text(&el, "[data-testid=ipvsadm]").contains("rr persistent 10800"));
    for _ in 0..3 {
        click(&el, "[data-testid=send-one]");
        tick().await;
    }
    let pods: Vec<String> = all(&el, "[data-testid=conn]")
        .iter()
        .map(|c| attr(c, "data-pod"))
        .collect();
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter().all(|p| p == &pods[0] && !p.is_empty()),
        "{pods:?}"
    );
    choose(&el, "[data-testid=scheduler]", "wrr");
    tick().await;
    assert!(text(&el, "[data-testid=ipvsadm]").contains("10.97.97.97:80 wrr persistent 10800"));
    let ops = text(&el, "[data-testid=diff]");
    assert!(
        ops.contains("~ ipvsadm -E -t 10.97.97.97:80 -s wrr -p 10800"),
        "{ops}"
    );
}

#[wasm_bindgen_test]
async fn headless_and_externalname_are_dns_answers() {
    let (el, _p) = mount(r#"{"url": false, "scenario": "headless", "compact": true}"#);
    tick().await;
    assert_eq!(all(&el, "[data-testid=dns-answer]").len(), 3);
    assert!(all(&el, "[data-testid=entry]").is_empty(), "no virtual IP");
    assert_eq!(
        text(&el, "[data-testid=ipvsadm]").matches("Masq").count(),
        0
    );
    let (el, p) = mount(r#"{"url": false, "scenario": "externalname", "compact": true}"#);
    tick().await;
    assert!(text(&el, "[data-testid=dns-box]").contains("CNAME www.baidu.com"));
    click(&el, "[data-testid=send-one]");
    tick().await;
    assert!(text(&el, "[data-testid=reason]").contains("is a CNAME for www.baidu.com"));
    p.unmount();
    tick().await;
    assert_eq!(el.child_element_count(), 0);
}

#[wasm_bindgen_test]
async fn the_language_switches_and_is_remembered() {
    let (el, _p) = mount(r#"{"url": false, "lang": "en"}"#);
    tick().await;
    assert!(text(&el, ".sr-title").contains("playground"));
    click(&el, "[data-testid=lang]");
    tick().await;
    assert!(text(&el, ".sr-title").contains("演练场"));
    assert_eq!(attr(&one(&el, "[data-testid=playground]"), "lang"), "zh-CN");
    let stored = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item("svcroute.lang").ok().flatten());
    assert_eq!(stored.as_deref(), Some("zh"));
    // A later mount without a language takes the remembered one.
    let (el2, _p2) = mount(r#"{"url": false}"#);
    tick().await;
    assert!(text(&el2, ".sr-title").contains("演练场"));
}
