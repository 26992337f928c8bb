// An in-memory stand-in for the channel endpoints (api/channels.ts), recording its calls.
import { ApiError } from '../api/http';
import type { ChannelView, JobView, MessengerPatch, NewMessengerChannel, ReplyWindow, SyncScope } from '../api/channels';
import type { Message } from '../api/types';
import type { MessengerPort } from '../channels/messengerController';
import type { InboxChannelsApi } from '../inbox/inboxController';

export function makeChannel(over: Partial<ChannelView> & { id: number }): ChannelView {
  return {
    project_id: 1,
    kind: 'messenger',
    name: `Page ${over.id}`,
    widget_key: null,
    created_at: '2026-11-24T10:00:00Z',
    health: 'connected',
    health_detail: null,
    messenger: {
      page_id: `10${over.id}`,
      page_name: `Page ${over.id}`,
      app_id: '555',
      human_agent: false,
      allowed_tags: [],
      has_page_token: true,
      has_app_secret: true,
      has_verify_token: true,
      webhook_url: 'https://sb.example.com/webhooks/messenger',
    },
    ...over,
  };
}

export function makeJob(over: Partial<JobView> & { id: number; channel_id: number }): JobView {
  return {
    kind: 'contact_sync',
    state: 'running',
    scope: 'recent',
    conversations_done: 0,
    contacts_imported: 0,
    messages_imported: 0,
    errors: 0,
    total_so_far: 0,
    cancel_requested: false,
    last_error: null,
    cursor_saved: false,
    created_at: '2026-11-24T10:00:00Z',
    updated_at: '2026-11-24T10:00:00Z',
    ...over,
  };
}

export function makeWindow(over: Partial<ReplyWindow> = {}): ReplyWindow {
  return {
    channel: 'messenger',
    state: 'open',
    last_inbound_at: '2026-11-24T10:00:00Z',
    window_closes_at: '2026-11-25T10:00:00Z',
    human_agent_until: null,
    allowed_tags: [],
    refusal: null,
    ...over,
  };
}

export class FakeChannelsApi implements MessengerPort, InboxChannelsApi {
  list: ChannelView[] = [];
  jobs = new Map<number, JobView>();
  windows = new Map<number, ReplyWindow>();
  retried = new Map<number, Message>();
  calls: string[] = [];
  /** Thrown by the next call of that name (then cleared). */
  failNext: Partial<Record<string, ApiError>> = {};
  private nextId = 100;
  private nextJob = 1;

  private check(name: string): void {
    const e = this.failNext[name];
    if (e) {
      delete this.failNext[name];
      throw e;
    }
  }

  async channels(_pid: number): Promise<ChannelView[]> {
    this.calls.push('channels');
    this.check('channels');
    return this.list.map((c) => ({ ...c }));
  }

  async connectMessenger(_pid: number, body: NewMessengerChannel): Promise<ChannelView> {
    this.calls.push(`connect ${JSON.stringify(body)}`);
    this.check('connectMessenger');
    const ch = makeChannel({ id: this.nextId++, name: body.page_name });
    ch.messenger = { ...ch.messenger!, page_id: body.page_id, page_name: body.page_name, app_id: body.app_id, human_agent: body.human_agent, allowed_tags: body.allowed_tags };
    this.list.push(ch);
    return { ...ch };
  }

  async updateMessenger(_pid: number, cid: number, patch: MessengerPatch): Promise<ChannelView> {
    this.calls.push(`patch ${cid} ${JSON.stringify(patch)}`);
    this.check('updateMessenger');
    const ch = this.list.find((c) => c.id === cid);
    if (!ch) throw new ApiError(404, 'not_found', 'channel not found');
    const m = ch.messenger!;
    ch.messenger = {
      ...m,
      page_name: patch.page_name ?? m.page_name,
      app_id: patch.app_id ?? m.app_id,
      human_agent: patch.human_agent ?? m.human_agent,
      allowed_tags: patch.allowed_tags ?? m.allowed_tags,
    };
    if (patch.page_access_token) ch.health = 'connected';
    return { ...ch };
  }

  async startSync(_pid: number, cid: number, scope: SyncScope, confirm: boolean): Promise<JobView> {
    this.calls.push(`sync ${cid} ${scope} ${confirm}`);
    this.check('startSync');
    const job = makeJob({ id: this.nextJob++, channel_id: cid, scope, state: 'queued' });
    this.jobs.set(cid, job);
    return job;
  }

  async latestSync(_pid: number, cid: number): Promise<JobView> {
    this.calls.push(`latest ${cid}`);
    this.check('latestSync');
    const job = this.jobs.get(cid);
    if (!job) throw new ApiError(404, 'not_found', 'no sync yet');
    return job;
  }

  async cancelJob(_pid: number, jid: number): Promise<JobView> {
    this.calls.push(`cancel ${jid}`);
    this.check('cancelJob');
    const job = [...this.jobs.values()].find((j) => j.id === jid);
    if (!job) throw new ApiError(404, 'not_found', 'job not found');
    const next = { ...job, state: 'cancelled' as const, updated_at: new Date(Date.parse(job.updated_at) + 1000).toISOString() };
    this.jobs.set(job.channel_id, next);
    return next;
  }

  async replyWindow(_pid: number, sid: number): Promise<ReplyWindow> {
    this.calls.push(`window ${sid}`);
    this.check('replyWindow');
    return this.windows.get(sid) ?? { ...makeWindow(), channel: 'web', state: 'open', window_closes_at: null, last_inbound_at: null };
  }

  async retryMessage(_pid: number, sid: number, mid: number): Promise<Message> {
    this.calls.push(`retry ${sid} ${mid}`);
    this.check('retryMessage');
    const m = this.retried.get(mid);
    if (!m) throw new ApiError(409, 'conflict', 'this message cannot be retried');
    return m;
  }
}
