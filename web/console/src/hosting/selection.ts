// The chat list's "Select" mode: which sessions are ticked, and the words for a switch's
// result. Pure, so the list component only renders it.
import type { HostingResult } from '../api/hosting';

export interface Selection {
  active: boolean;
  /** Ticked session ids, in the order they were ticked. */
  ids: readonly number[];
}

export const NO_SELECTION: Selection = { active: false, ids: [] };

export function startSelecting(): Selection {
  return { active: true, ids: [] };
}

export function toggle(sel: Selection, id: number): Selection {
  if (!sel.active) return sel;
  return { ...sel, ids: sel.ids.includes(id) ? sel.ids.filter((x) => x !== id) : [...sel.ids, id] };
}

/** Ticks every row shown, or unticks them all when all are ticked already. */
export function toggleAll(sel: Selection, shown: readonly number[]): Selection {
  if (!sel.active) return sel;
  const all = shown.length > 0 && shown.every((id) => sel.ids.includes(id));
  if (all) return { ...sel, ids: sel.ids.filter((id) => !shown.includes(id)) };
  return { ...sel, ids: [...sel.ids, ...shown.filter((id) => !sel.ids.includes(id))] };
}

export function isSelected(sel: Selection, id: number): boolean {
  return sel.active && sel.ids.includes(id);
}

/** After a switch: still selecting, nothing ticked. */
export function cleared(sel: Selection): Selection {
  return { ...sel, ids: [] };
}

/** "3 switched on, 1 already on, 0 ended". */
export function resultText(r: HostingResult, hosted: boolean): string {
  const state = hosted ? 'on' : 'off';
  return `${r.changed} switched ${state}, ${r.unchanged} already ${state}, ${r.ended} ended`;
}

/** "Hosting switched on for 4 assigned sessions" (nothing to switch said plainly). */
export function allAssignedText(r: HostingResult, hosted: boolean): string {
  const state = hosted ? 'on' : 'off';
  const total = r.changed + r.unchanged;
  if (total === 0) return 'No assigned sessions to switch.';
  const n = (k: number) => `${k} assigned session${k === 1 ? '' : 's'}`;
  return r.unchanged === 0 ? `Hosting switched ${state} for ${n(r.changed)}.` : `Hosting switched ${state} for ${n(r.changed)}; ${r.unchanged} already ${state}.`;
}
