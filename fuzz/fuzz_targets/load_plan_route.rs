//! Structure-aware: arbitrary Kubernetes-shaped manifests through load → plan (every node) →
//! route (`svcroute_fuzz::shapes::check_load_plan_route`).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use svcroute_fuzz::shapes;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok((text, _)) = shapes::manifest(&mut u) {
        shapes::check_load_plan_route(&text);
    }
});
