// State and side effects of the notification settings page: load, edit, save, the test
// e-mail (sent, then polled until delivered or failed) and the undelivered e-mails. The page
// component only renders `getState()` and calls these intentions.
import { ApiError, authLost } from '../api/http';
import type { Api } from '../api/http';
import type { NotificationSettings, OutboxRow } from '../api/types';
import { formFromSettings, isDirty, isEmptyPatch, patchFromForm, pollOutboxRow } from './notificationSettings';
import type { NotificationForm, PollOptions } from './notificationSettings';
import { PatchStore } from '../lib/store';

export type NotificationsApi = Pick<Api, 'notificationSettings' | 'updateNotificationSettings' | 'sendTestEmail' | 'outboxRow' | 'outbox'>;

export type TestMailState =
  | { kind: 'idle' }
  | { kind: 'sending' }
  | { kind: 'pending'; row: OutboxRow }
  | { kind: 'done'; row: OutboxRow; timedOut: boolean }
  | { kind: 'error'; message: string };

export interface NotificationsState {
  load: { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string };
  /** What the server has. */
  saved: NotificationSettings | null;
  form: NotificationForm;
  dirty: boolean;
  saving: boolean;
  saveResult: { kind: 'saved' } | { kind: 'error'; message: string } | null;
  test: TestMailState;
  failed: { kind: 'idle' | 'loading' | 'ready' } | { kind: 'error'; message: string };
  failedItems: OutboxRow[];
}

export interface NotificationsControllerOptions {
  api: NotificationsApi;
  projectId: number;
  /** The member has `project.manage`: may save, send a test e-mail and read the outbox. */
  canManage: boolean;
  onUnauthenticated?: () => void;
  poll?: Omit<PollOptions, 'onRow' | 'cancelled'>;
}

/** How many undelivered e-mails the page lists. */
export const FAILED_LIMIT = 20;

const EMPTY_FORM: NotificationForm = { emailEnabled: false, minutes: '', includeBotHosted: false };

export function errorText(err: unknown, fallback: string): string {
  if (err instanceof ApiError) return err.message || fallback;
  return fallback;
}

const INITIAL_NOTIFICATIONS: NotificationsState = {
    load: { kind: 'loading' },
    saved: null,
    form: EMPTY_FORM,
    dirty: false,
    saving: false,
    saveResult: null,
    test: { kind: 'idle' },
    failed: { kind: 'idle' },
    failedItems: [],
  };

export class NotificationsController extends PatchStore<NotificationsState> {
  constructor(private readonly opts: NotificationsControllerOptions) {
    super(INITIAL_NOTIFICATIONS);
  }

  get canManage(): boolean {
    return this.opts.canManage;
  }


  async start(): Promise<void> {
    this.stopped = false;
    const tasks = [this.load()];
    if (this.opts.canManage) tasks.push(this.refreshFailed());
    await Promise.all(tasks);
  }

  /** Drops late answers and stops polling (the page was left). */
  stop(): void {
    this.stopped = true;
  }

  async load(): Promise<void> {
    this.set({ load: { kind: 'loading' } });
    try {
      const s = await this.opts.api.notificationSettings(this.opts.projectId);
      this.set({ load: { kind: 'ready' }, saved: s, form: formFromSettings(s), dirty: false });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: errorText(err, 'Could not load the settings.') } });
    }
  }

  edit(change: Partial<NotificationForm>): void {
    if (!this.opts.canManage || !this.state.saved) return;
    const form = { ...this.state.form, ...change };
    this.set({ form, dirty: isDirty(form, this.state.saved), saveResult: null });
  }

  async save(): Promise<void> {
    const { saved, form, saving } = this.state;
    if (!this.opts.canManage || !saved || saving) return;
    const patch = patchFromForm(form, saved);
    if (!patch.ok) {
      this.set({ saveResult: { kind: 'error', message: patch.error } });
      return;
    }
    if (isEmptyPatch(patch.value)) {
      this.set({ form: formFromSettings(saved), dirty: false, saveResult: { kind: 'saved' } });
      return;
    }
    this.set({ saving: true, saveResult: null });
    try {
      const next = await this.opts.api.updateNotificationSettings(this.opts.projectId, patch.value);
      this.set({ saving: false, saved: next, form: formFromSettings(next), dirty: false, saveResult: { kind: 'saved' } });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ saving: false, saveResult: { kind: 'error', message: errorText(err, 'Could not save the settings.') } });
    }
  }

  /** Queues a test e-mail to the signed-in member and follows it until sent or failed. */
  async sendTest(): Promise<void> {
    const busy = this.state.test.kind === 'sending' || this.state.test.kind === 'pending';
    if (!this.opts.canManage || busy) return;
    this.set({ test: { kind: 'sending' } });
    try {
      const first = await this.opts.api.sendTestEmail(this.opts.projectId);
      this.set({ test: { kind: 'pending', row: first } });
      const { row, timedOut } = await pollOutboxRow((id) => this.opts.api.outboxRow(this.opts.projectId, id), first, {
        ...this.opts.poll,
        onRow: (r) => this.set({ test: { kind: 'pending', row: r } }),
        cancelled: () => this.stopped,
      });
      this.set({ test: { kind: 'done', row, timedOut } });
      if (row.state === 'failed') void this.refreshFailed();
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ test: { kind: 'error', message: errorText(err, 'Could not send the test e-mail.') } });
    }
  }

  async refreshFailed(): Promise<void> {
    if (!this.opts.canManage) return;
    this.set({ failed: { kind: 'loading' } });
    try {
      const page = await this.opts.api.outbox(this.opts.projectId, { state: 'failed', limit: FAILED_LIMIT });
      this.set({ failed: { kind: 'ready' }, failedItems: page.items });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ failed: { kind: 'error', message: errorText(err, 'Could not load the undelivered e-mails.') } });
    }
  }
}
