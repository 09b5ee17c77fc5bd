/**
 * Snapshot schedules (sanoid's vocabulary): buckets of snapshots, each with a period and a
 * retention count. Pure.
 *
 * A bucket's snapshots are named `<prefix><label>-<slot>`, where <slot> is the UTC start of
 * the period the snapshot stands for (`20261126T170000Z`): periods are aligned to the clock
 * (every hour on the hour, every day at 00:00 UTC, weeks from Monday, months from the 1st),
 * so "is this period's snapshot taken?" is a name lookup and a timer that runs twice in one
 * period takes nothing the second time. Labels: sanoid's `frequently`, `hourly`, `daily`,
 * `weekly`, `monthly`, or the period itself (`1m`, `2h`) for a custom entry.
 */

export const SANOID_LABELS = ["frequently", "hourly", "daily", "weekly", "monthly"] as const;
export type SanoidLabel = (typeof SANOID_LABELS)[number];

/** A period in minutes, or a calendar month. */
export type Period = number | "month";

export interface Bucket {
  label: string;
  period: Period;
  /** snapshots of this bucket kept, newest first (≥ 1) */
  keep: number;
}

export const WEEK_MINUTES = 7 * 24 * 60;
export const DAY_MINUTES = 24 * 60;

/**
 * Periods a timer can keep aligned to the clock: minutes that divide an hour, hours that
 * divide a day, a day, a week. (45m would start each hour's first slot at a different minute.)
 */
export function periodProblem(text: string): string | null {
  const m = /^(\d+)(m|h|d|w)$/.exec(text);
  if (!m) return `'${text}' is not a period: write minutes that divide an hour (1m, 5m, 15m, 30m), hours that divide a day (1h, 2h, 6h, 12h), 1d or 1w`;
  const n = Number(m[1]);
  const ok = m[2] === "m" ? n >= 1 && 60 % n === 0 : m[2] === "h" ? n >= 1 && 24 % n === 0 : n === 1;
  return ok ? null : `'${text}' cannot stay aligned to the clock: use minutes that divide an hour (1m, 2m, 5m, 10m, 15m, 20m, 30m), hours that divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h), 1d or 1w`;
}

/** Minutes of a period written as periodProblem accepts it. */
export function periodMinutes(text: string): number {
  const p = periodProblem(text);
  if (p) throw new Error(p);
  const n = Number(text.slice(0, -1));
  return { m: 1, h: 60, d: DAY_MINUTES, w: WEEK_MINUTES }[text.slice(-1) as "m" | "h" | "d" | "w"] * n;
}

/** The configuration of a policy as far as the schedule goes (snake_case, as in cdk.tf.json). */
export interface ScheduleConfig {
  frequently?: number;
  frequent_period?: string;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  /** custom entries: period → count kept (counts as text: a map of strings in the provider schema) */
  every?: Record<string, string>;
}

/** The buckets, shortest period first; a count of 0 (or none) is no bucket. */
export function bucketsOf(c: ScheduleConfig): Bucket[] {
  const out: Bucket[] = [];
  const add = (label: string, period: Period, keep: number | undefined) => {
    if (keep !== undefined && keep > 0) out.push({ label, period, keep });
  };
  add("frequently", periodMinutes(c.frequent_period ?? "15m"), c.frequently);
  add("hourly", 60, c.hourly);
  add("daily", DAY_MINUTES, c.daily);
  add("weekly", WEEK_MINUTES, c.weekly);
  add("monthly", "month", c.monthly);
  for (const [period, keep] of Object.entries(c.every ?? {})) add(period, periodMinutes(period), Number(keep));
  const minutes = (p: Period) => (p === "month" ? 31 * DAY_MINUTES : p);
  return out.sort((a, b) => minutes(a.period) - minutes(b.period) || a.label.localeCompare(b.label));
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The timer's OnCalendar: every boundary of the shortest common step of the buckets (a
 * month counts as days: its first day is a day boundary).
 */
export function onCalendar(buckets: readonly Bucket[]): string {
  if (buckets.length === 0) throw new Error("a schedule needs at least one bucket");
  // in UTC, as the slots the host script names snapshots after (not the host's local time)
  if (buckets.every((b) => b.period === "month")) return "*-*-01 00:00:00 UTC";
  const step = buckets.map((b) => (b.period === "month" ? DAY_MINUTES : b.period)).reduce(gcd);
  if (step === WEEK_MINUTES) return "Mon *-*-* 00:00:00 UTC";
  if (step % DAY_MINUTES === 0) return "*-*-* 00:00:00 UTC";
  if (step % 60 === 0) return `*-*-* 00/${step / 60}:00:00 UTC`;
  return `*-*-* *:00/${step}:00 UTC`;
}

/** The spec line per bucket the host script reads: `<label> <minutes|month> <keep>`. */
export function specOf(buckets: readonly Bucket[]): string {
  return buckets.map((b) => `${b.label} ${b.period} ${b.keep}`).join("\n");
}

/** "frequently (every 15m, keep 4), hourly (keep 24)": for plans and docs. */
export function describeBuckets(buckets: readonly Bucket[]): string {
  const every = (p: Period) => (p === "month" ? "1 month" : p % WEEK_MINUTES === 0 ? `${p / WEEK_MINUTES}w` : p % DAY_MINUTES === 0 ? `${p / DAY_MINUTES}d` : p % 60 === 0 ? `${p / 60}h` : `${p}m`);
  return buckets.map((b) => `${b.label} (every ${every(b.period)}, keep ${b.keep})`).join(", ");
}

/** `<prefix><UTC yyyymmddThhmmssZ>`: the names backplane's schedules give their snapshots. */
export function isStamped(name: string, prefix: string): boolean {
  return name.startsWith(prefix) && /^\d{8}T\d{6}Z$/.test(name.slice(prefix.length));
}
