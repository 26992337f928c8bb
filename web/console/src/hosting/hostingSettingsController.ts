// State of "Online chat › Robot hosting": the project's two hosting switches, loaded, edited
// and saved as one PATCH of the changed fields. Read-only without `project.manage`.
import { authLost } from '../api/http';
import type { HostingApi, HostingSettings, HostingSettingsPatch } from '../api/hosting';
import { PatchStore } from '../lib/store';
import { errorText } from '../settings/notificationsController';

export type HostingSettingsApi = Pick<HostingApi, 'hostingSettings' | 'updateHostingSettings'>;

export interface HostingSettingsState {
  load: { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string };
  saved: HostingSettings | null;
  form: HostingSettings;
  dirty: boolean;
  saving: boolean;
  saveResult: { kind: 'saved' } | { kind: 'error'; message: string } | null;
}

/** The server's defaults, shown until the first answer. */
const DEFAULTS: HostingSettings = { new_sessions_hosted: false, agent_reply_hands_off: true };

const INITIAL: HostingSettingsState = { load: { kind: 'loading' }, saved: null, form: DEFAULTS, dirty: false, saving: false, saveResult: null };

/** Only the fields that differ from what the server has. */
export function hostingPatch(form: HostingSettings, saved: HostingSettings): HostingSettingsPatch {
  const patch: HostingSettingsPatch = {};
  if (form.new_sessions_hosted !== saved.new_sessions_hosted) patch.new_sessions_hosted = form.new_sessions_hosted;
  if (form.agent_reply_hands_off !== saved.agent_reply_hands_off) patch.agent_reply_hands_off = form.agent_reply_hands_off;
  return patch;
}

export class HostingSettingsController extends PatchStore<HostingSettingsState> {
  constructor(private readonly opts: { api: HostingSettingsApi; projectId: number; canManage: boolean; onUnauthenticated?: () => void }) {
    super(INITIAL);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.load();
  }

  stop(): void {
    this.stopped = true;
  }

  async load(): Promise<void> {
    this.set({ load: { kind: 'loading' } });
    try {
      const s = await this.opts.api.hostingSettings(this.opts.projectId);
      this.set({ load: { kind: 'ready' }, saved: s, form: { ...s }, dirty: false });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: errorText(err, 'Could not load the hosting settings.') } });
    }
  }

  edit(change: Partial<HostingSettings>): void {
    const { saved } = this.state;
    if (!this.opts.canManage || !saved) return;
    const form = { ...this.state.form, ...change };
    this.set({ form, dirty: Object.keys(hostingPatch(form, saved)).length > 0, saveResult: null });
  }

  async save(): Promise<void> {
    const { saved, form, saving } = this.state;
    if (!this.opts.canManage || !saved || saving) return;
    const patch = hostingPatch(form, saved);
    if (Object.keys(patch).length === 0) {
      this.set({ dirty: false, saveResult: { kind: 'saved' } });
      return;
    }
    this.set({ saving: true, saveResult: null });
    try {
      const next = await this.opts.api.updateHostingSettings(this.opts.projectId, patch);
      this.set({ saving: false, saved: next, form: { ...next }, dirty: false, saveResult: { kind: 'saved' } });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ saving: false, saveResult: { kind: 'error', message: errorText(err, 'Could not save the hosting settings.') } });
    }
  }
}
