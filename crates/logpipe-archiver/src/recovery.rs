//! Recovery without a write-ahead log: the committed file names are the
//! archive's only state. On every assignment of a partition we delete its
//! orphan temporaries (taking over a dead writer's lease first), then find
//! the largest committed end offset by walking the time directories newest
//! first — so the cost does not grow with the archive's history — and the
//! partition resumes right after it.

use logpipe_core::archive::{temp_prefix, FileRange, TEMP_DIR};

use crate::path::PathTemplate;
use crate::sink::{Sink, SinkError};

/// What recovery found for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The offset after the largest committed end offset; `None` when the
    /// partition has no committed file.
    pub next_offset: Option<i64>,
    /// Time bucket of the directory holding that file: the partition's
    /// directories never go back before it.
    pub bucket: Option<i64>,
    /// Temporaries of dead writers that were deleted.
    pub orphans_removed: u64,
    /// Directories listed to find `next_offset`.
    pub dirs_listed: u64,
}

/// Clean up and locate `topic`/`partition` in the archive.
pub fn recover(
    sink: &dyn Sink,
    template: &PathTemplate,
    topic: &str,
    partition: i32,
) -> Result<Recovered, SinkError> {
    let orphans_removed = remove_orphans(sink, topic, partition)?;
    let mut walk = Walk {
        sink,
        template,
        topic,
        partition,
        listed: 0,
        stop_early: template.newest_first(),
    };
    let newest = walk.newest_end(0, "", &mut Vec::new())?;
    Ok(Recovered {
        next_offset: newest.map(|(end, _)| end + 1),
        bucket: newest.and_then(|(_, b)| b),
        orphans_removed,
        dirs_listed: walk.listed,
    })
}

/// Delete every temporary of `topic`/`partition` under [`TEMP_DIR`].
pub fn remove_orphans(sink: &dyn Sink, topic: &str, partition: i32) -> Result<u64, SinkError> {
    let prefix = temp_prefix(topic, partition, None);
    let mut removed = 0;
    for entry in sink.list(TEMP_DIR)? {
        if entry.is_dir || !entry.name.starts_with(&prefix) {
            continue;
        }
        let path = format!("{TEMP_DIR}/{}", entry.name);
        sink.recover_lease(&path)?;
        if sink.delete(&path)? {
            tracing::info!(
                topic,
                partition,
                path,
                "removed an orphan temporary of a previous writer"
            );
            removed += 1;
        }
    }
    Ok(removed)
}

struct Walk<'a> {
    sink: &'a dyn Sink,
    template: &'a PathTemplate,
    topic: &'a str,
    partition: i32,
    listed: u64,
    stop_early: bool,
}

impl Walk<'_> {
    /// The largest end offset below `dir` (at `level`), with its
    /// directory's bucket; `fields` are the time fields of `dir`'s path.
    fn newest_end(
        &mut self,
        level: usize,
        dir: &str,
        fields: &mut Vec<(u8, u32)>,
    ) -> Result<Option<(i64, Option<i64>)>, SinkError> {
        let entries = self.sink.list(dir)?;
        self.listed += 1;
        let join = |name: &str| {
            if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            }
        };
        if level == self.template.depth() {
            return Ok(entries
                .iter()
                .filter(|e| !e.is_dir)
                .filter_map(|e| FileRange::parse(&e.name))
                .filter(|r| r.topic == self.topic && r.partition == self.partition)
                .map(|r| r.end)
                .max()
                .map(|end| (end, self.template.bucket_of(fields))));
        }
        let mut children: Vec<(Vec<(u8, u32)>, &str)> = entries
            .iter()
            .filter(|e| e.is_dir)
            .filter_map(|e| {
                Some((
                    self.template
                        .match_segment(level, &e.name, self.topic, self.partition)?,
                    e.name.as_str(),
                ))
            })
            .collect();
        children.sort_unstable_by(|a, b| b.cmp(a));
        let mut best: Option<(i64, Option<i64>)> = None;
        for (key, name) in children {
            let depth = fields.len();
            fields.extend(key);
            let found = self.newest_end(level + 1, &join(name), fields)?;
            fields.truncate(depth);
            if let Some(found) = found {
                if best.is_none_or(|b| found.0 > b.0) {
                    best = Some(found);
                }
                if self.stop_early {
                    break;
                }
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::local::LocalSink;

    fn touch(sink: &LocalSink, path: &str) {
        sink.put(path, b"x").unwrap();
    }

    fn name(topic: &str, p: i32, start: i64, end: i64) -> String {
        FileRange {
            topic: topic.into(),
            partition: p,
            start,
            end,
            ext: "jsonl.zst".into(),
        }
        .file_name()
    }

    #[test]
    fn finds_the_newest_end_offset_and_removes_only_this_partitions_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LocalSink::new(dir.path().to_str().unwrap()).unwrap();
        let t = PathTemplate::parse("%{topic}/dt=%Y-%m-%d/hr=%H").unwrap();
        touch(
            &sink,
            &format!("logs/dt=2024-04-04/hr=23/{}", name("logs", 0, 0, 99)),
        );
        touch(
            &sink,
            &format!("logs/dt=2024-04-05/hr=00/{}", name("logs", 0, 100, 149)),
        );
        touch(
            &sink,
            &format!("logs/dt=2024-04-05/hr=00/{}", name("logs", 1, 0, 500)),
        );
        touch(
            &sink,
            &format!("logs/dt=2024-04-05/hr=09/{}", name("logs", 1, 501, 900)),
        );
        touch(
            &sink,
            &format!("logs/dt=2024-04-05/hr=09/{}", name("other", 0, 0, 10_000)),
        );
        touch(&sink, "logs/dt=2024-04-05/hr=10/_SUCCESS");
        touch(&sink, "_tmp/logs+0+0000000000000000150.jsonl.zst");
        touch(&sink, "_tmp/logs+10+0000000000000000150.jsonl.zst");

        let r = recover(&sink, &t, "logs", 0).unwrap();
        assert_eq!(r.next_offset, Some(150));
        assert_eq!(r.bucket, Some(1_712_275_200), "2024-04-05T00:00:00Z");
        assert_eq!(r.orphans_removed, 1);
        assert_eq!(
            sink.list("_tmp").unwrap().len(),
            1,
            "partition 10's temporary stays"
        );
        // Newest first: the hr=10 (no files), hr=09 (other partitions) and
        // hr=00 directories are listed, never dt=2024-04-04.
        assert_eq!(r.dirs_listed, 2 + 3 + 1);
        assert_eq!(
            recover(&sink, &t, "logs", 1).unwrap().next_offset,
            Some(901)
        );
        assert_eq!(recover(&sink, &t, "logs", 2).unwrap().next_offset, None);
    }

    #[test]
    fn templates_that_are_not_newest_first_are_scanned_whole() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LocalSink::new(dir.path().to_str().unwrap()).unwrap();
        let t = PathTemplate::parse("%{topic}/%H/%Y-%m-%d").unwrap();
        assert!(!t.newest_first());
        touch(
            &sink,
            &format!("logs/23/2023-12-31/{}", name("logs", 0, 0, 9)),
        );
        touch(
            &sink,
            &format!("logs/01/2024-01-01/{}", name("logs", 0, 10, 19)),
        );
        assert_eq!(recover(&sink, &t, "logs", 0).unwrap().next_offset, Some(20));
    }
}
