//! The playground's live cluster: the core's [`Live`] kept across actions, so that a Pod
//! action applies one change to the cluster instead of reading, building and planning the
//! manifests again (issue 7 item 3, issue 12 item 8).
//!
//! - [`PageCluster::load`] reads the text once, builds the live cluster and gathers the
//!   [`Model`]: the live node's plan comes from the live state, the other nodes are planned.
//! - A readiness toggle ([`PageCluster::tweak_pod`]) is the core's incremental path: only the
//!   Services that select the Pod are re-derived; the other nodes' plans are patched for those
//!   Services alone, and only their views are redrawn.
//! - Terminating or deleting a Pod (its controller makes a replacement), scaling and session
//!   affinity rebuild the cluster from the objects the live cluster holds (no re-reading),
//!   keeping every allocation and placement.
//!
//! - An edit of the text ([`PageCluster::edit`]) that changes one YAML document of ClusterIP
//!   Services in place (same lines, same names, labels, written ClusterIPs and IP families)
//!   re-reads that document alone and applies its Services to the live cluster (as a watch's
//!   `Apply` event does): the other 1,999 Services of a 2,000-Service text are not read again.
//!   Anything else (a document added or removed, lines added, an object renamed, a Node, Pod,
//!   workload or slice document, any diagnostic) reads the whole text: the live cluster keeps
//!   what it allocated and placed, a whole read does both again.
//!
//! Every [`Model`] made here equals [`Model::load`] of the same text and tweaks (tested).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use svcroute_core::cluster::live::{Live, LiveError, Object, ObjectKind};
use svcroute_core::cluster::{PodTweak, ResolvedService, Tweaks};
use svcroute_core::config::Config;
use svcroute_core::diag::{Diagnostic, Kind};
use svcroute_core::model::{ObjectRef, Objects, ServiceType, WorkloadKind};
use svcroute_core::plan::{self, Plan, Rules, VsKey};
use svcroute_core::sort::{self, CollectSorted as _};
use svcroute_core::{dns, manifest};

use crate::model::{self, Model, Workload};

/// The live cluster behind the page's model.
#[derive(Clone, Debug)]
pub struct PageCluster {
    live: Live,
    /// The reader's warnings on the text (first in the warnings, as `manifest::load` puts
    /// them).
    read_warnings: Vec<Diagnostic>,
    workloads: Vec<Workload>,
    /// The text the live cluster holds, for [`PageCluster::edit`].
    text: String,
    /// The text's YAML documents and the objects each one holds; empty when an edit cannot
    /// be applied alone (the text had diagnostics, or a failed edit left the live cluster
    /// part-way).
    docs: Vec<Doc>,
}

/// One YAML document of the text: where it is, and the objects read from it (in
/// [`Object::all`]'s order).
#[derive(Clone, Debug)]
struct Doc {
    range: Range<usize>,
    ids: Vec<(ObjectKind, ObjectRef)>,
}

impl PageCluster {
    /// Reads `text` once, builds the live cluster with `tweaks`, and the model: what
    /// [`Model::load`] gives.
    pub fn load(
        file: &str,
        text: &str,
        config: Config,
        tweaks: &Tweaks,
    ) -> Result<(PageCluster, Model), Vec<Diagnostic>> {
        let mut read = manifest::read(file, text);
        if read.objects == Objects::default() && !read.has_errors() {
            // What `manifest::load` warns.
            read.diagnostics.push(Diagnostic::warning(
                Kind::Note,
                None,
                "no objects in the input: the plan is empty",
            ));
        }
        if read.has_errors() {
            return Err(read.diagnostics);
        }
        let workloads = read
            .objects
            .workloads
            .iter()
            .filter(|w| w.kind != WorkloadKind::DaemonSet)
            .map(|w| Workload {
                id: w.meta.id.to_string(),
                kind: w.kind,
                replicas: w.replicas,
            })
            .collect();
        let docs = if read.diagnostics.is_empty() {
            documents_of(text, &read.objects)
        } else {
            Vec::new()
        };
        let live = Live::with_tweaks(read.objects, config, tweaks.clone(), None).map_err(|e| {
            let mut all = read.diagnostics.clone();
            match e {
                LiveError::Invalid(errors) => all.extend(errors.0),
                LiveError::NotFound(kind, id) => all.push(Diagnostic::error(
                    Kind::Note,
                    None,
                    LiveError::not_found_text(kind, &id),
                )),
            }
            all
        })?;
        let page = PageCluster {
            live,
            read_warnings: read.diagnostics,
            workloads,
            text: text.to_owned(),
            docs,
        };
        let model = page.model()?;
        Ok((page, model))
    }

    /// The text changed to `text`: when one document changed in place (same line count, same
    /// objects by kind, namespace and name) and reads without a diagnostic, its objects are
    /// applied to the live cluster and the new model is given. `None`: the whole text must be
    /// read again ([`PageCluster::load`]); after a `None` this page may no longer hold its
    /// text, so the caller replaces it.
    pub fn edit(&mut self, file: &str, text: &str) -> Option<Model> {
        let ranges = document_ranges(text);
        if self.docs.len() < 2 || ranges.len() != self.docs.len() {
            return None;
        }
        let mut changed = (0..ranges.len())
            .filter(|&i| self.text[self.docs[i].range.clone()] != text[ranges[i].clone()]);
        let i = changed.next()?;
        if changed.next().is_some() {
            return None;
        }
        let (old, new) = (
            &self.text[self.docs[i].range.clone()],
            &text[ranges[i].clone()],
        );
        if lines(old) != lines(new) {
            return None;
        }
        // The document alone, at its own lines: what the reader says of it is what it says in
        // the whole text (objects carry their line for diagnostics).
        let mut alone = "\n".repeat(lines(&text[..ranges[i].start]));
        alone.push_str(new);
        let read = manifest::read(file, &alone);
        if !read.diagnostics.is_empty() {
            return None;
        }
        let objects = Object::all(read.objects);
        let ids = &self.docs[i].ids;
        let same = objects.len() == ids.len()
            && objects
                .iter()
                .zip(ids)
                .all(|(o, (kind, id))| o.kind() == *kind && o.id() == id);
        if !same || !objects.iter().all(|o| self.keeps_the_rest(o)) {
            return None;
        }
        // From here on the live cluster changes: a refusal leaves it part-way, so the page
        // gives up its documents (a later edit reads the whole text) and says `None`.
        let docs = std::mem::take(&mut self.docs);
        for o in objects {
            self.live.apply(o).ok()?;
        }
        let model = self.model().ok()?;
        self.docs = docs
            .into_iter()
            .zip(ranges)
            .map(|(d, range)| Doc { range, ids: d.ids })
            .collect();
        self.text = text.to_owned();
        Some(model)
    }

    /// Whether applying `o` to the live cluster gives what a whole read of the edited text
    /// gives. The live cluster keeps what it allocated and placed, as a real one does (a Service
    /// keeps its ClusterIP, a Pod its Node); a whole read allocates and places again. So only a
    /// ClusterIP Service that stays one, with the same labels (they decide whether kube-proxy
    /// watches it, a warning of the build's), the same written `clusterIP`s and the same IP
    /// family fields: its address and every other Service's are then what a whole read
    /// allocates, and its ports, selector and policies are re-derived by the live cluster. A
    /// Node, Pod, EndpointSlice or workload document reads the whole text.
    fn keeps_the_rest(&self, o: &Object) -> bool {
        let Object::Service(new) = o else {
            return false;
        };
        self.live
            .cluster()
            .services
            .iter()
            .find(|r| r.service.meta.id == new.meta.id)
            .is_some_and(|r| {
                let old = &r.service;
                old.kind == ServiceType::ClusterIp
                    && new.kind == ServiceType::ClusterIp
                    && old.meta.labels == new.meta.labels
                    && old.cluster_ips == new.cluster_ips
                    && old.headless == new.headless
                    && old.ip_families == new.ip_families
                    && old.ip_family_policy == new.ip_family_policy
            })
    }

    /// The tweaks the live cluster holds.
    pub fn tweaks(&self) -> &Tweaks {
        self.live.tweaks()
    }

    /// Changes one Pod (readiness, terminating, deleted) and gives the new model; `prev` is the
    /// model before. On an error the live cluster is as it was.
    pub fn tweak_pod(
        &mut self,
        pod: &str,
        tweak: PodTweak,
        prev: &Model,
    ) -> Result<Model, Vec<Diagnostic>> {
        let Some((ns, name)) = pod.split_once('/') else {
            return Err(vec![Diagnostic::error(
                Kind::Note,
                None,
                format!("{pod:?} is not namespace/name"),
            )]);
        };
        let id = ObjectRef::new(ns, name);
        let readiness_only = {
            let old = self
                .live
                .tweaks()
                .pods
                .get(pod)
                .cloned()
                .unwrap_or_default();
            old.deleted == tweak.deleted
                && old.terminating == tweak.terminating
                && !tweak.deleted
                && tweak.ready.is_some()
        };
        self.live.tweak_pod(&id, tweak).map_err(errors)?;
        if readiness_only {
            Ok(self.patched(prev))
        } else {
            self.model()
        }
    }

    /// Replaces the tweaks (scale, session affinity, reset) and gives the new model.
    pub fn set_tweaks(&mut self, tweaks: Tweaks) -> Result<Model, Vec<Diagnostic>> {
        self.live.set_tweaks(tweaks).map_err(errors)?;
        self.model()
    }

    /// The cluster with the reader's warnings first, then `derived` (the live cluster's own,
    /// [`Live::warnings`]), as `manifest::load` gives it.
    fn cluster(&self, derived: &[Diagnostic]) -> svcroute_core::Cluster {
        let mut cluster = self.live.cluster().clone();
        let mut warnings = self.read_warnings.clone();
        warnings.extend_from_slice(derived);
        cluster.warnings = warnings;
        cluster
    }

    /// The live node's plan, with the reader's warnings first, then `derived` (the live
    /// cluster's own: derived once for every node's plan).
    fn live_plan(&self, derived: &[Diagnostic]) -> Option<Plan> {
        let mut p = self.live.plan_with(derived.to_vec()).ok()?;
        let mut warnings: Vec<String> = self.read_warnings.iter().map(|d| d.to_string()).collect();
        warnings.append(&mut p.warnings);
        p.warnings = warnings;
        // The same warnings structured (the page lists these, in its language).
        let mut diagnostics = self.read_warnings.clone();
        diagnostics.append(&mut p.diagnostics);
        p.diagnostics = diagnostics;
        Some(p)
    }

    fn live_node(&self) -> Option<&str> {
        self.live.node().map(|n| n.meta.id.name.as_str())
    }

    /// The whole model: the live node's plan from the live state, the other nodes planned.
    pub fn model(&self) -> Result<Model, Vec<Diagnostic>> {
        let derived = self.live.warnings();
        let cluster = self.cluster(&derived);
        let mut plans = Vec::with_capacity(cluster.nodes.len());
        for n in &cluster.nodes {
            let name = n.meta.id.name.as_str();
            let live = (Some(name) == self.live_node())
                .then(|| self.live_plan(&derived))
                .flatten();
            let p = match live {
                Some(p) => Ok(p),
                None => plan::plan(&cluster, Some(name)),
            };
            plans.push(p.map_err(|e| vec![Diagnostic::error(Kind::Note, None, e.text())])?);
        }
        let services = model::services(&cluster, &plans);
        Ok(Model {
            cluster,
            plans,
            workloads: self.workloads.clone(),
            services,
        })
    }

    /// After a readiness change: `prev` with the Services whose endpoints changed re-planned
    /// on each node, and the DNS records (headless answers follow readiness) made again.
    fn patched(&self, prev: &Model) -> Model {
        let derived = self.live.warnings();
        let cluster = self.cluster(&derived);
        let same_shape = prev.cluster.services.len() == cluster.services.len()
            && prev.plans.len() == cluster.nodes.len()
            && prev
                .cluster
                .services
                .iter()
                .zip(&cluster.services)
                .all(|(a, b)| a.id() == b.id());
        if !same_shape {
            return self.model().unwrap_or_else(|_| prev.clone());
        }
        let changed: BTreeSet<String> = prev
            .cluster
            .services
            .iter()
            .zip(&cluster.services)
            .filter(|(a, b)| a != b)
            .map(|(_, b)| b.id().to_string())
            .collect_set();
        let records = dns::records(&cluster);
        let by_id: BTreeMap<String, &ResolvedService> = cluster
            .services
            .iter()
            .map(|s| (s.id().to_string(), s))
            .filter(|(id, _)| changed.contains(id))
            .collect_map();
        let mut plans = Vec::with_capacity(prev.plans.len());
        for (old, node) in prev.plans.iter().zip(&cluster.nodes) {
            let name = node.meta.id.name.as_str();
            if Some(name) == self.live_node()
                && let Some(p) = self.live_plan(&derived)
            {
                plans.push(p);
                continue;
            }
            let mut p = old.clone();
            p.dns = records.clone();
            // A Service skipped for the node's rule limit may fit now: plan the node.
            let mut whole = old.node != name || !old.skipped.is_empty();
            let mut rules = old.rules;
            // Where each changed Service's virtual servers are in the plan.
            // (Service, key, place), sorted by Service and key (a list: no map types in the
            // wasm build); a repeated key keeps its last place.
            let mut slots: Vec<(&str, VsKey, usize)> = old
                .virtual_servers
                .iter()
                .enumerate()
                .filter(|(_, v)| changed.contains(&v.service))
                .map(|(i, v)| (v.service.as_str(), v.key(), i))
                .collect();
            sort::sort_by(&mut slots, |a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            slots.dedup_by(|later, kept| {
                let same = later.0 == kept.0 && later.1 == kept.1;
                if same {
                    kept.2 = later.2;
                }
                same
            });
            for id in changed.iter().filter(|_| !whole) {
                let Some(svc) = by_id.get(id) else {
                    whole = true;
                    break;
                };
                let list = plan::service_virtual_servers(&cluster, svc, name, &node.addresses);
                let mine = sort::equal_range(&slots, |s| s.0, id.as_str());
                let place = |k: &VsKey| {
                    mine.binary_search_by(|s| s.1.cmp(k))
                        .ok()
                        .map(|j| mine[j].2)
                };
                let same_keys =
                    mine.len() == list.len() && list.iter().all(|v| place(&v.key()).is_some());
                if !same_keys {
                    // The Service's virtual servers changed, or another Service holds one of
                    // its keys: plan the node.
                    whole = true;
                    break;
                }
                // Every virtual server of the Service is in the plan: its rules are theirs.
                let before = Rules {
                    virtual_servers: mine.len(),
                    real_servers: mine
                        .iter()
                        .map(|s| old.virtual_servers[s.2].real_servers.len())
                        .sum(),
                };
                rules = rules.minus(before).plus(Rules::of(&list));
                if !rules.within(cluster.config.max_node_rules) {
                    whole = true;
                    break;
                }
                for vs in list {
                    if let Some(i) = place(&vs.key()) {
                        p.virtual_servers[i] = vs;
                    }
                }
            }
            p.rules = rules;
            if whole {
                match plan::plan(&cluster, Some(name)) {
                    Ok(full) => p = full,
                    Err(_) => return self.model().unwrap_or_else(|_| prev.clone()),
                }
            }
            plans.push(p);
        }
        let by_service = model::vs_by_service(&plans);
        let services = prev
            .services
            .iter()
            .zip(&cluster.services)
            .map(|(view, s)| {
                if changed.contains(&view.id) {
                    let vss = by_service.get(&view.id);
                    model::service_view(&cluster, s, vss)
                } else {
                    view.clone()
                }
            })
            .collect();
        Model {
            cluster,
            plans,
            workloads: prev.workloads.clone(),
            services,
        }
    }
}

fn errors(e: LiveError) -> Vec<Diagnostic> {
    match e {
        LiveError::Invalid(errors) => errors.0,
        LiveError::NotFound(kind, id) => vec![Diagnostic::error(
            Kind::Note,
            None,
            LiveError::not_found_text(kind, &id),
        )],
    }
}

/// The byte ranges of `text`'s YAML documents: each starts at a `---` line (the first at the
/// text's start) and ends where the next starts.
fn document_ranges(text: &str) -> Vec<Range<usize>> {
    let mut starts = vec![0];
    let mut at = 0;
    for line in text.as_bytes().split_inclusive(|&b| b == b'\n') {
        let rest = line.strip_prefix(b"---");
        if at > 0 && rest.is_some_and(|r| r.first().is_none_or(u8::is_ascii_whitespace)) {
            starts.push(at);
        }
        at += line.len();
    }
    let mut ends: Vec<usize> = starts[1..].to_vec();
    ends.push(text.len());
    starts.into_iter().zip(ends).map(|(a, b)| a..b).collect()
}

/// How many line ends `text` holds.
fn lines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// `text`'s documents with the objects read from each (by the line each object starts at).
fn documents_of(text: &str, objects: &Objects) -> Vec<Doc> {
    let ranges = document_ranges(text);
    // The line each document starts at (from 1).
    let mut first_lines = Vec::with_capacity(ranges.len());
    let mut line = 1;
    let mut from = 0;
    for r in &ranges {
        line += lines(&text[from..r.start]);
        from = r.start;
        first_lines.push(line);
    }
    let mut docs: Vec<Doc> = ranges
        .into_iter()
        .map(|range| Doc {
            range,
            ids: Vec::new(),
        })
        .collect();
    let mut add = |kind: ObjectKind, id: &ObjectRef, at: u32| {
        let i = first_lines
            .partition_point(|&l| l <= at as usize)
            .saturating_sub(1);
        docs[i].ids.push((kind, id.clone()));
    };
    for o in &objects.services {
        add(ObjectKind::Service, &o.meta.id, o.meta.loc.line);
    }
    for o in &objects.pods {
        add(ObjectKind::Pod, &o.meta.id, o.meta.loc.line);
    }
    for o in &objects.nodes {
        add(ObjectKind::Node, &o.meta.id, o.meta.loc.line);
    }
    for o in &objects.slices {
        add(ObjectKind::EndpointSlice, &o.meta.id, o.meta.loc.line);
    }
    for o in &objects.workloads {
        add(ObjectKind::Workload(o.kind), &o.meta.id, o.meta.loc.line);
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::ALL;

    /// Everything the page draws from a model, comparable.
    fn shown(m: &Model) -> String {
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            m.plans,
            m.services,
            m.workloads,
            m.cluster.pods,
            m.cluster.services,
            m.cluster.warnings
        )
    }

    fn full(text: &str, tweaks: &Tweaks) -> Model {
        Model::load("manifest.yaml", text, Config::default(), tweaks).expect("valid")
    }

    /// The reader's warnings (an unknown kind) reach the live node's plan structured, as a
    /// fresh load's: the page lists `Plan::diagnostics` in its language.
    #[test]
    fn the_readers_warnings_reach_the_live_plans_diagnostics() {
        let text = format!(
            "{}\n---\napiVersion: v1\nkind: Servcie\nmetadata:\n  name: web2\n",
            ALL[0].manifest()
        );
        let tweaks = Tweaks::default();
        let (_, m) =
            PageCluster::load("manifest.yaml", &text, Config::default(), &tweaks).expect("valid");
        assert_eq!(shown(&m), shown(&full(&text, &tweaks)));
        for p in &m.plans {
            assert_eq!(p.diagnostics.len(), p.warnings.len(), "{}", p.node);
            assert!(
                p.diagnostics
                    .iter()
                    .any(|d| d.message.contains("did you mean Service?")),
                "{}: {:?}",
                p.node,
                p.warnings
            );
        }
    }

    /// An edit of one document in place (the core's `Live::apply` of that document's objects,
    /// as a watch's `Apply` event) gives the model a fresh read of the whole text gives, and
    /// an edit the page cannot take alone (a broken document, another object's name, a new
    /// line, a NodePort Service) is refused so that the whole text is read. Each digit of each
    /// scenario's text changed in turn, then random one-character edits (half of them in the
    /// Service's document).
    #[test]
    fn an_edit_of_one_document_gives_the_model_a_fresh_read_gives() {
        let tweaks = Tweaks::default();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut taken, mut refused) = (0, 0);
        for sc in &ALL {
            let text = sc.manifest();
            let digits: Vec<usize> = text
                .char_indices()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            let mut edits: Vec<String> = digits
                .iter()
                .map(|&i| {
                    let d = text.as_bytes()[i] - b'0';
                    let mut t = text.clone();
                    t.replace_range(i..=i, &((d + 1) % 10).to_string());
                    t
                })
                .collect();
            let chars: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            // Half the random edits in the Service's document (the last), where an edit may go
            // to the live cluster alone.
            let last = text.rfind("\n---\n").map_or(0, |i| i + 5);
            let in_service: Vec<usize> = chars.iter().copied().filter(|&i| i >= last).collect();
            for k in 0..120 {
                let pool = if k % 2 == 0 { &chars } else { &in_service };
                let at = pool[(next() % pool.len() as u64) as usize];
                let len = text[at..].chars().next().map_or(0, char::len_utf8);
                let with = ["1", "a", "-", " ", ":", "\n", "x9", ""][(next() % 8) as usize];
                let mut t = text.clone();
                t.replace_range(at..at + len, with);
                edits.push(t);
            }
            for edited in edits {
                let (mut page, _) =
                    PageCluster::load("manifest.yaml", &text, Config::default(), &tweaks)
                        .expect("valid");
                let whole = Model::load("manifest.yaml", &edited, Config::default(), &tweaks);
                match page.edit("manifest.yaml", &edited) {
                    Some(m) => {
                        taken += 1;
                        let whole = whole.unwrap_or_else(|e| {
                            panic!("{}: edit taken, whole read refused: {e:?}\n{edited}", sc.id)
                        });
                        assert_eq!(shown(&m), shown(&whole), "{}: {edited}", sc.id);
                        // The page now holds the edited text: editing back is one change too.
                        if let Some(back) = page.edit("manifest.yaml", &text) {
                            assert_eq!(
                                shown(&back),
                                shown(&full(&text, &tweaks)),
                                "{}: back",
                                sc.id
                            );
                        }
                    }
                    None => refused += 1,
                }
            }
        }
        // Both paths are exercised.
        assert!(taken > 60, "{taken} edits taken alone");
        assert!(refused > 100, "{refused} edits read whole");
    }

    /// What the live cluster keeps and a whole read makes again decides which edits go to it
    /// alone: a ClusterIP Service's port or selector does; a Node (placement), a workload
    /// (a DaemonSet's replicas are not a Deployment's), a NodePort Service (nodePort
    /// allocation), a Service's labels (kube-proxy's `service-proxy-name`) and a written
    /// `clusterIP` (the others' allocation) read the whole text.
    #[test]
    fn only_edits_a_whole_read_would_agree_with_go_to_the_live_cluster() {
        let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-3\nspec:\n  unschedulable: true\n  podCIDR: 10.244.9.0/24\nstatus:\n  addresses:\n  - type: InternalIP\n    address: 172.18.0.9\n";
        let ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: pc-deployment\n  namespace: dev\nspec:\n  selector:\n    matchLabels:\n      app: agent\n  template:\n    metadata:\n      labels:\n        app: agent\n    spec:\n      containers:\n      - name: a\n        image: a\n        ports:\n        - containerPort: 81\n";
        let np = "apiVersion: v1\nkind: Service\nmetadata:\n  name: np\n  namespace: dev\nspec:\n  type: NodePort\n  selector:\n    app: nginx-pod\n  ports:\n  - port: 81\n    targetPort: 80\n";
        let cip = "apiVersion: v1\nkind: Service\nmetadata:\n  name: cip\n  namespace: dev\n  labels:\n    tier: web\nspec:\n  selector:\n    app: nginx-pod\n  ports:\n  - port: 82\n    targetPort: 80\n";
        let text = [ALL[0].manifest().as_str(), node, ds, np, cip].join("---\n");
        let tweaks = Tweaks::default();
        let cases = [
            ("unschedulable: true", "unschedulable: fals", false),
            ("containerPort: 81", "containerPort: 82", false),
            (
                "  - port: 81\n    targetPort: 80\n",
                "  - port: 83\n    targetPort: 80\n",
                false,
            ),
            ("tier: web", "tier: wex", false),
            ("  - port: 82\n", "  - port: 84\n", true),
            ("  ports:\n  - port: 82", "  ports:\n  - port: 82", true),
        ];
        for (from, to, alone) in cases {
            assert!(text.contains(from), "{from}");
            let edited = text.replacen(from, to, 1);
            let (mut page, _) =
                PageCluster::load("manifest.yaml", &text, Config::default(), &tweaks)
                    .expect("valid");
            let got = page.edit("manifest.yaml", &edited);
            let whole = Model::load("manifest.yaml", &edited, Config::default(), &tweaks);
            match got {
                Some(m) => {
                    assert!(alone, "{from} -> {to}: taken alone");
                    assert_eq!(shown(&m), shown(&whole.expect("valid")), "{from} -> {to}");
                }
                // An unchanged text is no edit at all.
                None => assert!(!alone || edited == text, "{from} -> {to}: read whole"),
            }
        }
    }

    /// The documents of a text: split at `---` lines only.
    #[test]
    fn documents_start_at_their_marker_lines() {
        let t = "a: 1\n---\nb: 2\n--- # c\nc: 3\n----\n---";
        let docs: Vec<&str> = document_ranges(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(
            docs,
            ["a: 1\n", "---\nb: 2\n", "--- # c\nc: 3\n----\n", "---"]
        );
    }

    /// Each Pod of each scenario made not ready, ready again, terminating, then deleted: the
    /// live model equals a fresh [`Model::load`] with the same tweaks after every step.
    #[test]
    fn every_pod_action_gives_the_model_a_fresh_load_gives() {
        for sc in &ALL {
            let text = sc.manifest();
            let mut tweaks = Tweaks::default();
            let (mut page, mut m) =
                PageCluster::load("manifest.yaml", &text, Config::default(), &tweaks)
                    .expect("valid");
            assert_eq!(shown(&m), shown(&full(&text, &tweaks)), "{}: load", sc.id);
            let pods: Vec<String> = m
                .cluster
                .pods
                .iter()
                .map(|p| p.meta.id.to_string())
                .collect();
            for (i, pod) in pods.iter().enumerate() {
                let steps: &[fn(&mut PodTweak)] = &[
                    |t| t.ready = Some(false),
                    |t| t.ready = Some(true),
                    |t| t.terminating = true,
                    |t| t.deleted = true,
                ];
                // Every Pod toggles readiness; every other one is also terminated and deleted.
                let steps = if i % 2 == 0 { steps } else { &steps[..2] };
                for step in steps {
                    let t = tweaks.pods.entry(pod.clone()).or_default();
                    step(t);
                    let t = t.clone();
                    m = page.tweak_pod(pod, t, &m).expect("applies");
                    assert_eq!(
                        shown(&m),
                        shown(&full(&text, &tweaks)),
                        "{}: {pod} {:?}",
                        sc.id,
                        tweaks.pods.get(pod)
                    );
                }
            }
            // Scaling goes through a rebuild of the held objects.
            if let Some(w) = m.workloads.first() {
                tweaks.replicas.insert(w.id.clone(), 5);
                m = page.set_tweaks(tweaks.clone()).expect("scales");
                assert_eq!(shown(&m), shown(&full(&text, &tweaks)), "{}: scaled", sc.id);
            }
        }
    }
}

/// How long the page's core work takes at 2,000 Services (the widget e2e's paste), natively:
/// `cargo test --release -p svcroute-web --lib live_model::timing -- --ignored --nocapture`.
/// Prints times; asserts nothing about them.
#[cfg(test)]
mod timing {
    use super::*;
    use crate::scenarios::Scenario;
    use std::time::Instant;

    #[test]
    #[ignore]
    fn two_thousand_services() {
        let mut text = Scenario::get("clusterip").manifest();
        for i in 0..2000 {
            text += &format!(
                "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: dev\nspec:\n  selector:\n    app: nginx-pod\n  ports:\n  - port: {}\n    targetPort: 80\n",
                1000 + i
            );
        }
        let tweaks = Tweaks::default();
        let best = |f: &mut dyn FnMut()| {
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed()
                })
                .min()
                .unwrap_or_default()
        };
        let load = best(&mut || {
            Model::load("m.yaml", &text, Config::default(), &tweaks).expect("valid");
        });
        let live = best(&mut || {
            PageCluster::load("m.yaml", &text, Config::default(), &tweaks).expect("valid");
        });
        let (mut page, mut m) =
            PageCluster::load("m.yaml", &text, Config::default(), &tweaks).expect("valid");
        let pod = m.cluster.pods[0].meta.id.to_string();
        let mut ready = false;
        let toggle = best(&mut || {
            let t = PodTweak {
                ready: Some(ready),
                ..PodTweak::default()
            };
            m = page.tweak_pod(&pod, t, &m).expect("applies");
            ready = !ready;
        });
        let mut t2 = tweaks.clone();
        t2.pods.entry(pod.clone()).or_default().ready = Some(false);
        let full_toggle = best(&mut || {
            Model::load("m.yaml", &text, Config::default(), &t2).expect("valid");
        });
        // A keystroke in the last Service (its port 2999 <-> 2998): one document read again.
        let (mut page, _) =
            PageCluster::load("m.yaml", &text, Config::default(), &tweaks).expect("valid");
        let other = text.replace("port: 2999\n", "port: 2998\n");
        let mut flip = false;
        let edit = best(&mut || {
            let t = if flip { &text } else { &other };
            page.edit("m.yaml", t).expect("one document");
            flip = !flip;
        });
        eprintln!(
            "2,000 Services: Model::load {load:?}, PageCluster::load {live:?}; readiness toggle: live {toggle:?}, full re-load {full_toggle:?}; an edit of one Service {edit:?}"
        );
    }
}
