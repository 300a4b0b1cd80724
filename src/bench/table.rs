//! The harness's printed table: one row per measure, one column per
//! backend, each figure with its fraction of the floor and the target.

use crate::load::Stats;
use crate::run::BackendReport;

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(stats: &Stats, unit: &str) -> String {
    format!("{} {unit} (p50 {:.1} ms, p99 {:.1} ms)", thousands(stats.per_second), stats.p50_ms, stats.p99_ms)
}

fn latency(stats: &Stats) -> String {
    format!("p50 {:.1} ms, p99 {:.1} ms ({} req)", stats.p50_ms, stats.p99_ms, stats.requests)
}

fn ratio(value: f64, floor: f64) -> String {
    if floor > 0.0 {
        format!(" = {:.2} of floor", value / floor)
    } else {
        String::new()
    }
}

/// A markdown table of the reports, with the machine it ran on.
pub fn render(reports: &[BackendReport], machine: &str) -> String {
    type Cell = fn(&BackendReport) -> String;
    let rows: Vec<(&str, &str, Cell)> = vec![
        ("HTTP floor: GET /healthz, 64 conn", "", |r| rate(&r.http_floor, "req/s")),
        ("ingest floor: raw bulk INSERT (PostgreSQL: unnest), 1000/tx", "", |r| format!("{} events/s", thousands(r.ingest_floor_events_per_second))),
        ("batch ingest, in order (1000/batch)", "≥ 0.5 of floor", |r| {
            format!("{} events/s{}", thousands(r.batch_in_order.events_per_second), ratio(r.batch_in_order.events_per_second, r.ingest_floor_events_per_second))
        }),
        ("batch ingest, shuffled (1000/batch)", "≥ 0.35 of floor", |r| {
            format!("{} events/s{}", thousands(r.batch_shuffled.events_per_second), ratio(r.batch_shuffled.events_per_second, r.ingest_floor_events_per_second))
        }),
        ("single-event ingest, 64 conn", "SQLite ≥ 8,000 req/s, p99 < 15 ms; PostgreSQL ≥ 5,000, p99 < 25 ms", |r| {
            format!("{}{}", rate(&r.single_event, "req/s"), ratio(r.single_event.per_second, r.http_floor.per_second))
        }),
        ("public lookup, 64 conn, random items", "SQLite ≥ 30,000 req/s, PostgreSQL ≥ 20,000, p99 < 10 ms", |r| {
            format!("{}{}", rate(&r.lookup, "req/s"), ratio(r.lookup.per_second, r.lookup_floor.per_second.min(r.http_floor.per_second)))
        }),
        ("lookup floor: the same point read through the pool, 64 conn", "", |r| rate(&r.lookup_floor, "reads/s")),
        ("list: overdue in a province (overseer)", "p99 < 50 ms", |r| latency(&r.list_overdue_in_province)),
        ("list: by carrier and status (carrier)", "p99 < 50 ms", |r| latency(&r.list_by_carrier_and_status)),
        ("list: a department's own items, with personal fields (audited)", "p99 < 50 ms", |r| {
            rate(&r.list_department_items, "req/s")
        }),
        ("CSV export of a department's run items (audited)", "", |r| format!("{} rows/s", thousands(r.export_rows_per_second))),
        ("sweeper pass over all items", "< 1 s; first pass < 15 s", |r| {
            let when = if r.generated.is_some() { "after generation" } else { "of this run" };
            let first = r.first_sweep_seconds.map(|s| format!(" (first pass {when}: {s:.2} s)")).unwrap_or_default();
            format!("{:.2} s{first}", r.sweep_seconds)
        }),
        ("server peak RSS", "< 150 MB", |r| format!("{:.0} MB", r.server_peak_rss_mb)),
        ("database size per scan, all included", "≤ 250 bytes", |r| {
            format!("{} bytes ({:.2} GB in all)", r.database_bytes / r.events.max(1), r.database_bytes as f64 / 1e9)
        }),
        ("batch registration (1000/batch)", "", |r| format!("{} items/s", thousands(r.registration_items_per_second))),
    ];
    let mut out = format!("Machine: {machine}. Items: {}.\n\n", reports.first().map_or(0, |r| r.items));
    out.push_str("| measure | target |");
    for r in reports {
        out.push_str(&format!(" {} ({} events) |", r.backend, thousands(r.events as f64)));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(reports.len()));
    for (name, target, cell) in rows {
        out.push_str(&format!("\n| {name} | {target} |"));
        for r in reports {
            out.push_str(&format!(" {} |", cell(r)));
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(0.4), "0");
        assert_eq!(super::thousands(999.0), "999");
        assert_eq!(super::thousands(1000.0), "1,000");
        assert_eq!(super::thousands(1_234_567.0), "1,234,567");
    }
}
