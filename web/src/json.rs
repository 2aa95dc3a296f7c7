//! JSON text from any `Serialize` value: how the JS API's answers cross into JS.
//!
//! The answer is written as one JSON string in wasm and turned into JS objects by the engine's
//! `JSON.parse` ([`crate::to_js`]). serde-wasm-bindgen made each value a JS object, array,
//! string or number with a call across the boundary per value (7% of a first `plan()` of a
//! 10k-Service cluster, issue 7), and its serializer was 7 KiB of the bundle (issue 12);
//! serde_json would bring a larger writer. The writer is the core's
//! ([`svcroute_core::render::json`], compact here, pretty for the CLI's `-o json`): the text
//! serde_json writes, so the values are those serde_json and serde-wasm-bindgen's
//! `json_compatible` give: `None` and `()` are `null`, maps are objects (keys that serialize as
//! numbers or booleans are quoted), enums are externally tagged, bytes are arrays of numbers,
//! a float that is not finite is `null`.

pub use svcroute_core::render::json::{Error, to_string};

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::to_string;

    /// Numbers as JS has them (one kind, a double).
    fn js(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            Value::Array(a) => Value::Array(a.into_iter().map(js).collect()),
            Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, js(v))).collect()),
            other => other,
        }
    }

    fn same<T: Serialize>(v: &T) {
        let ours = to_string(v).expect("writes");
        let theirs: serde_json::Value = serde_json::to_value(v).expect("serde_json writes");
        let back: serde_json::Value = serde_json::from_str(&ours).expect("valid JSON");
        assert_eq!(js(back), js(theirs), "{ours}");
    }

    /// The writer's bytes are held to serde_json's by the core's tests; here, what JS gets: an
    /// `f32` widened, as serde-wasm-bindgen gave it.
    #[test]
    fn an_f32_reaches_js_widened() {
        same(&(1.1f32, 0.1f64));
        assert_eq!(to_string(&1.1f32).expect("writes"), "1.100000023841858");
    }

    #[test]
    fn the_js_apis_answers_on_every_scenario() {
        use crate::api::{self, ClusterOptions, RouteOptions};
        use svcroute_core::plan;
        for s in &crate::scenarios::ALL {
            let text = s.manifest();
            let opts = ClusterOptions::default();
            let plan = api::plan(&text, &opts).expect("plans");
            same(&plan);
            let live = api::LiveCluster::new(&text, opts.clone()).expect("valid");
            let first = plan.virtual_servers.first();
            let to = first.map(|v| format!("{}:{}", plan::fmt_addr(&v.address), v.port));
            if let Some(to) = to {
                let (count, trace_rules) = (Some(4), Some(true));
                let req = RouteOptions {
                    to: Some(to),
                    count,
                    trace_rules,
                    ..Default::default()
                };
                same(&api::route(&text, &opts, &req).expect("routes"));
                same(&live.route(&req, None).expect("routes"));
            }
        }
    }
}
