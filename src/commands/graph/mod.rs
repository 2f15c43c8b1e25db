//! `graph export` and `graph stats`: the namespace's graph as a whole.

mod render;

use std::collections::HashMap;
use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::open_for_reading;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::graph::EntityName;
use crate::output;
use crate::store::GraphDump;

/// Arguments of `graph`.
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// What to do with the graph
    #[command(subcommand)]
    pub command: GraphCommand,
}

/// The `graph` verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum GraphCommand {
    /// Write the graph (or one entity's neighbourhood) as JSON, DOT, Mermaid or GraphML.
    #[command(after_help = crate::examples::GRAPH_EXPORT)]
    Export(ExportArgs),
    /// Counts, connected components, degrees and the biggest hubs.
    #[command(after_help = crate::examples::GRAPH_STATS)]
    Stats,
}

/// The formats `graph export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON document: `{"entities":[…],"relationships":[…]}`.
    Json,
    /// Graphviz.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
    /// GraphML (XML).
    Graphml,
}

/// Arguments of `graph export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The output format
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// Only the neighbourhood of this entity
    #[arg(long)]
    pub entity: Option<String>,
    /// With --entity: how many relationships away
    #[arg(long, default_value_t = 1, requires = "entity", value_parser = clap::value_parser!(u32).range(0..=10))]
    pub hops: u32,
}

/// What `graph stats` prints.
#[derive(Debug, Clone, Serialize)]
pub struct GraphStats {
    /// Visible entities.
    pub entities: usize,
    /// Visible relationships.
    pub relationships: usize,
    /// Connected components (relationships taken both ways).
    pub components: usize,
    /// How many entities have each degree range: `"0"`, `"1"`, `"2-3"`,
    /// `"4-7"`, … (powers of two).
    pub degrees: Vec<DegreeBucket>,
    /// The ten entities with the most relationships.
    pub hubs: Vec<Hub>,
}

/// One range of degrees and how many entities fall in it.
#[derive(Debug, Clone, Serialize)]
pub struct DegreeBucket {
    /// The range, e.g. `"4-7"`.
    pub degree: String,
    /// Entities in it.
    pub entities: usize,
}

/// An entity with many relationships.
#[derive(Debug, Clone, Serialize)]
pub struct Hub {
    /// Its name.
    pub name: String,
    /// Its relationships in and out.
    pub degree: usize,
    /// Live memories that mention it.
    pub memories: i64,
}

/// Runs a `graph` verb, writing its result to `out`.
pub fn run(config: &Config, args: &GraphArgs, out: &mut dyn Write) -> Result<()> {
    let namespace = config.namespace()?;
    match &args.command {
        GraphCommand::Export(export) => {
            let around = export.entity.as_deref().map(EntityName::new).transpose()?;
            let graph = open_for_reading(config)?
                .graph(namespace, around.as_ref().map(|name| (name, export.hops)))?;
            let text = match export.format {
                Format::Json => return output::write_json(out, &graph),
                Format::Dot => render::dot(&graph),
                Format::Mermaid => render::mermaid(&graph),
                Format::Graphml => render::graphml(&graph),
            };
            out.write_all(text.as_bytes())
                .map_err(|e| Error::io("writing the graph", e))
        }
        GraphCommand::Stats => {
            let graph = open_for_reading(config)?.graph(namespace, None)?;
            output::write_json(out, &stats(&graph))
        }
    }
}

/// Counts what `graph stats` shows.
fn stats(graph: &GraphDump) -> GraphStats {
    let index: HashMap<String, usize> = graph
        .entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.to_lowercase(), i))
        .collect();
    let mut degree = vec![0usize; graph.entities.len()];
    let mut parent: Vec<usize> = (0..graph.entities.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for r in &graph.relationships {
        let (Some(&a), Some(&b)) = (
            index.get(&r.from.to_lowercase()),
            index.get(&r.to.to_lowercase()),
        ) else {
            continue;
        };
        degree[a] += 1;
        degree[b] += 1;
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[ra] = rb;
    }
    let components = (0..parent.len())
        .filter(|&i| root(&mut parent, i) == i)
        .count();
    let mut buckets: Vec<usize> = Vec::new();
    for &d in &degree {
        let bucket = if d == 0 { 0 } else { d.ilog2() as usize + 1 };
        if buckets.len() <= bucket {
            buckets.resize(bucket + 1, 0);
        }
        buckets[bucket] += 1;
    }
    let degrees = buckets
        .into_iter()
        .enumerate()
        .map(|(bucket, entities)| DegreeBucket {
            degree: match bucket {
                0 => "0".to_owned(),
                1 => "1".to_owned(),
                b => format!("{}-{}", 1usize << (b - 1), (1usize << b) - 1),
            },
            entities,
        })
        .collect();
    let mut order: Vec<usize> = (0..graph.entities.len()).collect();
    order.sort_by(|&a, &b| degree[b].cmp(&degree[a]).then(a.cmp(&b)));
    let hubs = order
        .into_iter()
        .take(10)
        .filter(|&i| degree[i] > 0)
        .map(|i| Hub {
            name: graph.entities[i].name.clone(),
            degree: degree[i],
            memories: graph.entities[i].memories,
        })
        .collect();
    GraphStats {
        entities: graph.entities.len(),
        relationships: graph.relationships.len(),
        components,
        degrees,
        hubs,
    }
}
