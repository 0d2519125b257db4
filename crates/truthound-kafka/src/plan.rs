//! Where a snapshot starts and ends in each partition: pure arithmetic, kept apart from I/O so
//! every rule is unit-tested.

use std::collections::BTreeMap;

/// One partition's offsets as captured when the source connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionBounds {
    /// The partition.
    pub partition: i32,
    /// The log start offset.
    pub beginning: i64,
    /// The end captured at connect time: high watermark, or last stable offset under
    /// read_committed. Reads never go past it.
    pub end: i64,
}

/// One partition's part of a snapshot: read offsets `start..end`, at most `quota` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionPlan {
    /// The partition.
    pub partition: i32,
    /// The first offset read.
    pub start: i64,
    /// The offset the read stops before.
    pub end: i64,
    /// The most messages taken from this partition.
    pub quota: usize,
    /// For a read of the most recent messages: the log start. Where `start..end` holds fewer
    /// messages than `quota` (compaction gaps, transaction markers, aborted records), the read
    /// goes on with the offsets before `start`, down to this one, so it returns the last
    /// messages, not the last offsets. `None` for reads forward from a start.
    pub extend_back_to: Option<i64>,
}

/// Shares `budget` messages among partitions holding `available` messages each: every
/// partition gets an equal share, a partition with fewer messages than its share gives the rest
/// to the others, and any remainder goes one by one to the lowest partition numbers. The result
/// depends only on the inputs, so the same snapshot is planned the same way every time.
pub fn fair_share(available: &BTreeMap<i32, u64>, budget: u64) -> BTreeMap<i32, u64> {
    let mut alloc: BTreeMap<i32, u64> = available.keys().map(|p| (*p, 0)).collect();
    let mut remaining = budget;
    let mut active: Vec<i32> = available
        .iter()
        .filter(|(_, a)| **a > 0)
        .map(|(p, _)| *p)
        .collect();
    while remaining > 0 && !active.is_empty() {
        let share = remaining / active.len() as u64;
        if share == 0 {
            for p in active.iter().take(remaining as usize) {
                *alloc.entry(*p).or_default() += 1;
            }
            break;
        }
        for p in &active {
            let room = available[p] - alloc[p];
            let take = room.min(share);
            *alloc.entry(*p).or_default() += take;
            remaining -= take;
        }
        active.retain(|p| alloc[p] < available[p]);
    }
    alloc
}

/// Plans a read of at most `limit` messages from the given start offsets.
///
/// Each partition reads from its start up to its captured end and stops after its fair share
/// of `limit` (see [`fair_share`]).
pub fn plan_from_starts(
    bounds: &[PartitionBounds],
    starts: &BTreeMap<i32, i64>,
    limit: usize,
) -> Vec<PartitionPlan> {
    let available: BTreeMap<i32, u64> = bounds
        .iter()
        .map(|b| {
            let start = starts[&b.partition].clamp(b.beginning, b.end);
            (b.partition, (b.end - start) as u64)
        })
        .collect();
    let quotas = fair_share(&available, limit as u64);
    bounds
        .iter()
        .map(|b| {
            let start = starts[&b.partition].clamp(b.beginning, b.end);
            let quota = quotas[&b.partition];
            PartitionPlan {
                partition: b.partition,
                start,
                // With compaction gaps or transaction markers a range holds fewer messages
                // than offsets; the read goes on to the captured end and stops at the quota.
                end: b.end,
                quota: quota as usize,
                extend_back_to: None,
            }
        })
        .collect()
}

/// Plans the most recent `limit` messages before the captured ends, shared fairly by what each
/// partition holds. Each partition first reads its share's worth of offsets before its end;
/// [`PartitionPlan::extend_back_to`] lets the read go further back where those offsets hold
/// fewer messages.
pub fn plan_latest(bounds: &[PartitionBounds], limit: usize) -> Vec<PartitionPlan> {
    let available: BTreeMap<i32, u64> = bounds
        .iter()
        .map(|b| (b.partition, (b.end - b.beginning).max(0) as u64))
        .collect();
    let quotas = fair_share(&available, limit as u64);
    bounds
        .iter()
        .map(|b| {
            let quota = quotas[&b.partition];
            PartitionPlan {
                partition: b.partition,
                start: (b.end - quota as i64).max(b.beginning),
                end: b.end,
                quota: quota as usize,
                extend_back_to: Some(b.beginning),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn avail(v: &[(i32, u64)]) -> BTreeMap<i32, u64> {
        v.iter().copied().collect()
    }

    #[test]
    fn equal_partitions_share_equally_remainder_to_lowest() {
        let a = avail(&[
            (0, 1000),
            (1, 1000),
            (2, 1000),
            (3, 1000),
            (4, 1000),
            (5, 1000),
        ]);
        let got = fair_share(&a, 1000);
        assert_eq!(
            got.values().copied().collect::<Vec<_>>(),
            vec![167, 167, 167, 167, 166, 166]
        );
    }

    #[test]
    fn small_partitions_give_their_rest_to_others() {
        let a = avail(&[(0, 10), (1, 1000), (2, 0), (3, 50)]);
        let got = fair_share(&a, 300);
        assert_eq!(got, avail(&[(0, 10), (1, 240), (2, 0), (3, 50)]));
    }

    #[test]
    fn budget_above_everything_takes_everything() {
        let a = avail(&[(0, 10), (1, 20)]);
        assert_eq!(fair_share(&a, 1000), a);
    }

    #[test]
    fn budget_below_partition_count_goes_to_lowest_ids() {
        let a = avail(&[(0, 5), (1, 0), (2, 5), (3, 5)]);
        assert_eq!(fair_share(&a, 2), avail(&[(0, 1), (1, 0), (2, 1), (3, 0)]));
    }

    #[test]
    fn latest_takes_the_tail_of_each_partition() {
        let b = [
            PartitionBounds {
                partition: 0,
                beginning: 0,
                end: 100,
            },
            PartitionBounds {
                partition: 1,
                beginning: 90,
                end: 95,
            },
        ];
        let plan = plan_latest(&b, 20);
        assert_eq!(
            plan,
            vec![
                PartitionPlan {
                    partition: 0,
                    start: 85,
                    end: 100,
                    quota: 15,
                    extend_back_to: Some(0)
                },
                PartitionPlan {
                    partition: 1,
                    start: 90,
                    end: 95,
                    quota: 5,
                    extend_back_to: Some(90)
                },
            ]
        );
    }

    #[test]
    fn starts_are_clamped_into_the_log() {
        let b = [PartitionBounds {
            partition: 0,
            beginning: 10,
            end: 20,
        }];
        let starts = BTreeMap::from([(0, 3)]);
        assert_eq!(
            plan_from_starts(&b, &starts, 100)[0],
            PartitionPlan {
                partition: 0,
                start: 10,
                end: 20,
                quota: 10,
                extend_back_to: None
            }
        );
        let starts = BTreeMap::from([(0, 50)]);
        assert_eq!(
            plan_from_starts(&b, &starts, 100)[0],
            PartitionPlan {
                partition: 0,
                start: 20,
                end: 20,
                quota: 0,
                extend_back_to: None
            }
        );
    }

    proptest! {
        #[test]
        fn shares_are_fair_and_within_bounds(avail_v in proptest::collection::vec(0u64..500, 1..12), budget in 0u64..3000) {
            let a: BTreeMap<i32, u64> = avail_v.iter().enumerate().map(|(i, v)| (i as i32, *v)).collect();
            let got = fair_share(&a, budget);
            let total: u64 = got.values().sum();
            let all: u64 = a.values().sum();
            prop_assert_eq!(total, budget.min(all));
            for (p, g) in &got {
                prop_assert!(*g <= a[p]);
            }
            // Fairness: a partition below another's share is exhausted.
            let max = got.values().copied().max().unwrap_or(0);
            for (p, g) in &got {
                prop_assert!(*g + 1 >= max || *g == a[p], "partition {} got {} while another got {}", p, g, max);
            }
        }
    }
}
