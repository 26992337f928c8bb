// Contact sync progress, as pure functions: which job a Page shows (the newest; REST answers
// and `job` frames arrive in any order, so an older view never replaces a newer one) and how
// its counters read.
import type { JobState, JobView } from '../api/channels';

export type JobsByChannel = Readonly<Record<number, JobView>>;

/** Whether `incoming` is news over `cur`: a later job, or the same job updated later. */
export function isNewer(incoming: JobView, cur: JobView | undefined): boolean {
  if (!cur) return true;
  if (incoming.id !== cur.id) return incoming.id > cur.id;
  const a = Date.parse(incoming.updated_at);
  const b = Date.parse(cur.updated_at);
  if (a !== b) return a > b;
  // Same instant: counters only grow, and a finished state is final.
  if (isActive(cur) && !isActive(incoming)) return true;
  return incoming.conversations_done + incoming.errors > cur.conversations_done + cur.errors;
}

export function mergeJob(jobs: JobsByChannel, job: JobView): JobsByChannel {
  if (!isNewer(job, jobs[job.channel_id])) return jobs;
  return { ...jobs, [job.channel_id]: job };
}

export function isActive(job: Pick<JobView, 'state'> | undefined): boolean {
  return !!job && (job.state === 'queued' || job.state === 'running');
}

const STATE_LABELS: Record<JobState, string> = {
  queued: 'Waiting to start',
  running: 'Syncing',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function jobStateLabel(job: JobView): string {
  const scope = job.scope === 'all' ? 'all conversations' : 'recent 100';
  return `${STATE_LABELS[job.state] ?? job.state} (${scope})`;
}

function n(v: number): string {
  return v.toLocaleString('en-US');
}

function plural(v: number, one: string, many: string): string {
  return `${n(v)} ${v === 1 ? one : many}`;
}

/** "120 conversations · 118 contacts · 2,360 messages · 2 errors" */
export function jobCounters(job: JobView): string {
  const parts = [
    plural(job.conversations_done, 'conversation', 'conversations'),
    plural(job.contacts_imported, 'contact imported', 'contacts imported'),
    plural(job.messages_imported, 'message imported', 'messages imported'),
  ];
  if (job.errors > 0) parts.push(plural(job.errors, 'error', 'errors'));
  return parts.join(' · ');
}
