// State and side effects of Settings › Channels › Messenger: the connected Pages with their
// health, the "Connect a Page" / edit form, and contact sync per Page with live progress from
// `job` frames. Every change goes to the server and its answer is what is shown; refusals are
// shown with the server's message. The panel only renders `getState()` and calls intentions.
import { ApiError, authLost } from '../api/http';
import type { ChannelsApi, ChannelView, JobView, SyncScope } from '../api/channels';
import { PatchStore } from '../lib/store';
import type { ServerFrame } from '../realtime/protocol';
import { addTag, EMPTY_FORM, formFromChannel, isEmptyPatch, newChannelBody, patchFromForm, removeTag } from './messengerForm';
import type { MessengerForm } from './messengerForm';
import { isActive, mergeJob } from './syncJobs';
import type { JobsByChannel } from './syncJobs';

export type MessengerPort = Pick<ChannelsApi, 'channels' | 'connectMessenger' | 'updateMessenger' | 'startSync' | 'latestSync' | 'cancelJob'>;

export type Editor =
  | { mode: 'new'; form: MessengerForm; saving: boolean; error: string | null }
  | { mode: 'edit'; channelId: number; form: MessengerForm; saving: boolean; error: string | null };

export interface SyncUi {
  /** The request in flight. */
  busy: SyncScope | 'cancel' | null;
  /** "Sync all" was pressed and waits for the confirmation. */
  confirmAll: boolean;
  error: string | null;
}

export interface MessengerState {
  load: { kind: 'loading' | 'ready' } | { kind: 'error'; message: string };
  /** The project's Messenger channels, oldest first. */
  channels: ChannelView[];
  editor: Editor | null;
  notice: { kind: 'ok'; message: string } | null;
  /** The latest sync job per channel id. */
  jobs: JobsByChannel;
  sync: Readonly<Record<number, SyncUi>>;
}

export interface MessengerControllerOptions {
  api: MessengerPort;
  projectId: number;
  /** The agent socket's frames (`job` frames carry sync progress); absent in some tests. */
  subscribeFrames?: (listener: (frame: ServerFrame) => void) => () => void;
  onUnauthenticated?: () => void;
}

const IDLE_SYNC: SyncUi = { busy: null, confirmAll: false, error: null };

const INITIAL: MessengerState = { load: { kind: 'loading' }, channels: [], editor: null, notice: null, jobs: {}, sync: {} };

export function messengerErrorText(err: unknown, fallback: string): string {
  if (err instanceof ApiError) return err.message || fallback;
  return fallback;
}

export class MessengerController extends PatchStore<MessengerState> {
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly opts: MessengerControllerOptions) {
    super(INITIAL);
  }

  /** Restartable (React StrictMode runs effects twice). */
  async start(): Promise<void> {
    this.stopped = false;
    this.unsubscribe?.();
    this.unsubscribe = this.opts.subscribeFrames?.((f) => this.onFrame(f)) ?? null;
    await this.load();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  onFrame(frame: ServerFrame): void {
    if (frame.type === 'job' && frame.job.kind === 'contact_sync') this.applyJob(frame.job);
  }

  private applyJob(job: JobView): void {
    const jobs = mergeJob(this.state.jobs, job);
    if (jobs !== this.state.jobs) this.set({ jobs });
  }

  async load(): Promise<void> {
    this.set({ load: { kind: 'loading' } });
    let channels: ChannelView[];
    try {
      const all = await this.opts.api.channels(this.opts.projectId);
      channels = all.filter((c) => c.kind === 'messenger').sort((a, b) => a.id - b.id);
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: messengerErrorText(err, 'Could not load the channels.') } });
      return;
    }
    this.set({ load: { kind: 'ready' }, channels });
    await Promise.all(channels.map((c) => this.loadJob(c.id)));
  }

  /** The Page's latest sync, if it ever had one (404 otherwise). */
  private async loadJob(channelId: number): Promise<void> {
    try {
      this.applyJob(await this.opts.api.latestSync(this.opts.projectId, channelId));
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      if (err instanceof ApiError && err.status === 404) return;
      this.setSync(channelId, { error: messengerErrorText(err, 'Could not read the sync progress.') });
    }
  }

  // --- the form ---

  openNew(): void {
    this.set({ editor: { mode: 'new', form: EMPTY_FORM, saving: false, error: null }, notice: null });
  }

  openEdit(channelId: number): void {
    const ch = this.state.channels.find((c) => c.id === channelId);
    if (!ch) return;
    this.set({ editor: { mode: 'edit', channelId, form: formFromChannel(ch), saving: false, error: null }, notice: null });
  }

  closeEditor(): void {
    this.set({ editor: null });
  }

  edit(change: Partial<MessengerForm>): void {
    const e = this.state.editor;
    if (!e || e.saving) return;
    this.set({ editor: { ...e, form: { ...e.form, ...change }, error: null } });
  }

  addTag(): void {
    const e = this.state.editor;
    if (!e || e.saving) return;
    const r = addTag(e.form);
    this.set({ editor: r.ok ? { ...e, form: r.value, error: null } : { ...e, error: r.error } });
  }

  removeTag(tag: string): void {
    const e = this.state.editor;
    if (!e || e.saving) return;
    this.set({ editor: { ...e, form: removeTag(e.form, tag), error: null } });
  }

  async save(): Promise<void> {
    const e = this.state.editor;
    if (!e || e.saving) return;
    if (e.mode === 'new') {
      const body = newChannelBody(e.form);
      if (!body.ok) return this.set({ editor: { ...e, error: body.error } });
      this.set({ editor: { ...e, saving: true, error: null } });
      try {
        const ch = await this.opts.api.connectMessenger(this.opts.projectId, body.value);
        this.set({ channels: [...this.state.channels.filter((c) => c.id !== ch.id), ch], editor: null, notice: { kind: 'ok', message: `Connected ${ch.messenger?.page_name ?? ch.name}.` } });
      } catch (err) {
        this.saveFailed(err);
      }
      return;
    }
    const ch = this.state.channels.find((c) => c.id === e.channelId);
    if (!ch) return this.set({ editor: null });
    const patch = patchFromForm(e.form, ch);
    if (!patch.ok) return this.set({ editor: { ...e, error: patch.error } });
    if (isEmptyPatch(patch.value)) return this.set({ editor: null, notice: { kind: 'ok', message: 'Nothing changed.' } });
    this.set({ editor: { ...e, saving: true, error: null } });
    try {
      const next = await this.opts.api.updateMessenger(this.opts.projectId, ch.id, patch.value);
      this.set({ channels: this.state.channels.map((c) => (c.id === next.id ? next : c)), editor: null, notice: { kind: 'ok', message: `Saved ${next.messenger?.page_name ?? next.name}.` } });
    } catch (err) {
      this.saveFailed(err);
    }
  }

  private saveFailed(err: unknown): void {
    if (authLost(err, this.opts.onUnauthenticated)) return;
    const e = this.state.editor;
    if (!e) return;
    this.set({ editor: { ...e, saving: false, error: messengerErrorText(err, 'Could not save the Page.') } });
  }

  // --- contact sync ---

  syncState(channelId: number): SyncUi {
    return this.state.sync[channelId] ?? IDLE_SYNC;
  }

  private setSync(channelId: number, patch: Partial<SyncUi>): void {
    this.set({ sync: { ...this.state.sync, [channelId]: { ...this.syncState(channelId), ...patch } } });
  }

  async syncRecent(channelId: number): Promise<void> {
    await this.startSync(channelId, 'recent');
  }

  /** "Sync all" asks first: it pages through every conversation of the Page and can be long. */
  askSyncAll(channelId: number): void {
    if (this.syncState(channelId).busy || isActive(this.state.jobs[channelId])) return;
    this.setSync(channelId, { confirmAll: true, error: null });
  }

  dismissSyncAll(channelId: number): void {
    this.setSync(channelId, { confirmAll: false });
  }

  async confirmSyncAll(channelId: number): Promise<void> {
    if (!this.syncState(channelId).confirmAll) return;
    await this.startSync(channelId, 'all');
  }

  private async startSync(channelId: number, scope: SyncScope): Promise<void> {
    if (this.syncState(channelId).busy || isActive(this.state.jobs[channelId])) return;
    this.setSync(channelId, { busy: scope, error: null, confirmAll: false });
    try {
      const job = await this.opts.api.startSync(this.opts.projectId, channelId, scope, scope === 'all');
      this.applyJob(job);
      this.setSync(channelId, { busy: null });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.setSync(channelId, { busy: null, error: messengerErrorText(err, 'Could not start the sync.') });
    }
  }

  async cancelSync(channelId: number): Promise<void> {
    const job = this.state.jobs[channelId];
    if (!job || !isActive(job) || this.syncState(channelId).busy) return;
    this.setSync(channelId, { busy: 'cancel', error: null });
    try {
      this.applyJob(await this.opts.api.cancelJob(this.opts.projectId, job.id));
      this.setSync(channelId, { busy: null });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.setSync(channelId, { busy: null, error: messengerErrorText(err, 'Could not cancel the sync.') });
    }
  }
}
