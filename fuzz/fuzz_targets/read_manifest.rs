//! Any text: reading, building the cluster and planning never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let read = svcroute_core::manifest::read("fuzz.yaml", text);
    if read.has_errors() {
        return;
    }
    if let Ok(cluster) = svcroute_core::Cluster::build(read.objects, svcroute_core::Config::default()) {
        let _ = svcroute_core::plan(&cluster, None);
    }
});
