// React access to the inbox controller: components read state through selectors and call the
// controller's intentions; none of them talks to the API or the socket directly.
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ContactChangePage } from '../api/contacts';
import type { Member } from '../api/types';
import type { InboxController } from '../inbox/inboxController';
import type { InboxState } from '../inbox/reducer';

export interface InboxContextValue {
  controller: InboxController;
  projectId: number;
  userId: number;
  members: readonly Member[];
  /** A contact's edit history (first page, newest first); absent in tests that don't need it. */
  loadContactChanges?: (contactId: number) => Promise<ContactChangePage>;
}

export const InboxContext = createContext<InboxContextValue | null>(null);

export function useInboxContext(): InboxContextValue {
  const v = useContext(InboxContext);
  if (!v) throw new Error('useInboxContext outside InboxScreen');
  return v;
}

/** Subscribes to the inbox state (re-renders on every change of it). */
export function useInboxState(): InboxState {
  const { controller } = useInboxContext();
  return useSyncExternalStore(controller.subscribe, controller.getState);
}

/** "You", the member's name, or a fallback for someone no longer in the team. */
export function memberName(members: readonly Member[], userId: number | null, me: number): string {
  if (userId === null) return 'Unassigned';
  if (userId === me) return 'You';
  const m = members.find((x) => x.user_id === userId);
  return m ? m.display_name || m.email : `User #${userId}`;
}
