// The signed-in screen: top bar, then the inbox (chat list, open chat, details) or a
// settings page. Owns the controller's lifetime and the URL (open chat or settings page).
import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Api } from '../api/http';
import type { Me, Member, ProjectMembership } from '../api/types';
import { HostingApi } from '../api/hosting';
import { ChannelsApi } from '../api/channels';
import { ContactsApi } from '../api/contacts';
import { CustomerInfoContext } from '../contacts/customerInfoContext';
import { CustomerInfoController } from '../contacts/customerInfoController';
import { InboxController } from '../inbox/inboxController';
import { unreadCount } from '../inbox/selectors';
import { inScope } from '../inbox/tabs';
import { pathForChat, pathForRoute, routeFromPath } from '../lib/route';
import { agentSocketUrl } from '../realtime/agentSocket';
import { ChatList } from './ChatList';
import { ChatView } from './ChatView';
import { ContactsPage } from './ContactsPage';
import { ConnectionBanner } from './ConnectionStatus';
import { DetailsPanel } from './DetailsPanel';
import { InboxContext, useInboxContext, useInboxState } from './inboxContext';
import { SettingsPage } from './SettingsPage';
import { SessionManagementPage } from './SessionManagementPage';
import type { InboxContextValue } from './inboxContext';
import { TopBar } from './TopBar';
import type { View } from './TopBar';

// The flow editor (and its graph library) loads only when the Automation page is opened.
const AutomationPage = lazy(() => import('./AutomationPage').then((m) => ({ default: m.AutomationPage })));

interface Props {
  api: Api;
  me: Me;
  membership: ProjectMembership;
  onSwitchProject: (id: number) => void;
  onLogout: () => void;
  onUnauthenticated: () => void;
  /** Reload what the member may do (its role or membership changed). */
  onAccessChanged?: () => void;
}

export function InboxScreen({ api, me, membership, onSwitchProject, onLogout, onUnauthenticated, onAccessChanged }: Props) {
  const projectId = membership.project.id;
  const [controller] = useState(
    () =>
      new InboxController({
        api,
        channels: new ChannelsApi(api),
        hosting: new HostingApi(api),
        projectId,
        viewer: { userId: me.user.id, dataScope: membership.role.data_scope },
        socketUrl: agentSocketUrl(projectId),
        onUnauthenticated,
        onAccessChanged,
      }),
  );
  // Customer info (contacts, session tags, chat-list preferences) lives in the inbox store.
  const [customerInfo] = useState(() => new CustomerInfoController({ api: new ContactsApi(api), projectId, store: controller, onUnauthenticated }));
  useEffect(() => {
    customerInfo.start();
    return () => customerInfo.stop();
  }, [customerInfo]);
  const [members, setMembers] = useState<Member[]>([]);
  const [view, setView] = useState<View>(() => routeFromPath(window.location.pathname).kind);

  useEffect(() => {
    controller.start();
    const initial = routeFromPath(window.location.pathname);
    if (initial.kind === 'inbox' && initial.chatId !== null) controller.openChat(initial.chatId);
    const online = () => controller.networkBack();
    const popstate = () => {
      const route = routeFromPath(window.location.pathname);
      setView(route.kind);
      // No chat counts as open (and read) while a settings page is shown.
      controller.openChat(route.kind === 'inbox' ? route.chatId : null);
    };
    window.addEventListener('online', online);
    window.addEventListener('popstate', popstate);
    return () => {
      window.removeEventListener('online', online);
      window.removeEventListener('popstate', popstate);
      controller.stop();
    };
  }, [controller]);

  useEffect(() => {
    let live = true;
    api.members(projectId).then(
      (m) => live && setMembers(m),
      () => undefined, // the assign menu then offers only "me" and "unassigned"
    );
    return () => {
      live = false;
    };
  }, [api, projectId]);

  const loadContactChanges = useCallback((contactId: number) => new ContactsApi(api).contactChanges(projectId, contactId), [api, projectId]);
  const ctx = useMemo<InboxContextValue>(
    () => ({ controller, projectId, userId: me.user.id, members, loadContactChanges }),
    [controller, projectId, me.user.id, members, loadContactChanges],
  );

  return (
    <InboxContext.Provider value={ctx}>
      <CustomerInfoContext.Provider value={customerInfo}>
      <Layout
        api={api}
        me={me}
        membership={membership}
        view={view}
        onView={setView}
        onSwitchProject={onSwitchProject}
        onLogout={onLogout}
        onUnauthenticated={onUnauthenticated}
      />
      </CustomerInfoContext.Provider>
    </InboxContext.Provider>
  );
}

interface LayoutProps extends Props {
  view: View;
  onView: (view: View) => void;
}

function Layout({ api, me, membership, view, onView, onSwitchProject, onLogout, onUnauthenticated }: LayoutProps) {
  const state = useInboxState();
  const openId = state.openSessionId;
  const { controller } = useInboxContext();
  const contactsApi = useMemo(() => new ContactsApi(api), [api]);

  // Bumped when a chat is picked (click or Enter) so its composer takes the focus; browsing
  // with the arrow keys leaves the focus in the list.
  const [opened, setOpened] = useState<{ how: 'select' | 'browse'; n: number }>({ how: 'select', n: 0 });
  const open = useCallback(
    (id: number | null, how: 'select' | 'browse' = 'select') => {
      if (window.location.pathname !== pathForChat(id)) window.history.pushState(null, '', pathForChat(id));
      controller.openChat(id);
      setOpened((o) => ({ how, n: o.n + 1 }));
    },
    [controller],
  );

  // The chat that was open when Settings was picked comes back with the inbox.
  const returnTo = useRef<number | null>(null);
  const navigate = useCallback(
    (to: View) => {
      if (to === view) return;
      if (to !== 'inbox') {
        if (view === 'inbox') returnTo.current = controller.getState().openSessionId;
        window.history.pushState(
          null,
          '',
          pathForRoute(to === 'sessions' || to === 'contacts' ? { kind: to } : to === 'automation' ? { kind: 'automation', flowId: null } : { kind: 'settings', section: 'notifications' }),
        );
        controller.openChat(null);
      } else {
        window.history.pushState(null, '', pathForChat(returnTo.current));
        controller.openChat(returnTo.current);
      }
      onView(to);
    },
    [controller, view, onView],
  );

  // Session management and the automation drill-down open a row's chat in the inbox.
  const openFromSessions = useCallback(
    (id: number) => {
      onView('inbox');
      open(id);
    },
    [onView, open],
  );

  // Total unread in the tab title, so a background browser tab still says something happened.
  const totalUnread = useMemo(() => {
    let n = 0;
    for (const s of Object.values(state.sessions)) {
      if (s.status !== 'ended' && inScope(s, state.viewer)) n += unreadCount(state, s.id);
    }
    return n;
  }, [state]);
  useEffect(() => {
    document.title = totalUnread > 0 ? `(${totalUnread}) Switchboard` : 'Switchboard';
    return () => {
      document.title = 'Switchboard';
    };
  }, [totalUnread]);

  return (
    <div className="app">
      <TopBar
        me={me}
        membership={membership}
        connection={state.connection}
        view={view}
        unread={totalUnread}
        onNavigate={navigate}
        onSwitchProject={onSwitchProject}
        onLogout={onLogout}
      />
      <ConnectionBanner status={state.connection} />
      {view === 'settings' ? (
        <SettingsPage api={api} me={me} membership={membership} onUnauthenticated={onUnauthenticated} />
      ) : view === 'contacts' ? (
        <ContactsPage api={contactsApi} projectId={membership.project.id} onUnauthenticated={onUnauthenticated} />
      ) : view === 'automation' ? (
        <Suspense fallback={<div className="automation-page muted" aria-busy="true">Loading…</div>}>
          <AutomationPage api={api} membership={membership} onUnauthenticated={onUnauthenticated} onOpenChat={openFromSessions} subscribeFrames={controller.subscribeFrames} />
        </Suspense>
      ) : view === 'sessions' ? (
        <SessionManagementPage api={api} onOpenChat={openFromSessions} onUnauthenticated={onUnauthenticated} />
      ) : (
        <div className={`workspace${openId !== null ? ' workspace-has-chat' : ''}`}>
          <ChatList onOpen={open} />
          {openId === null ? (
            <section className="chat chat-empty">
              <div className="empty-illustration" aria-hidden="true" />
              <h2>No conversation selected</h2>
              <p>Pick a conversation from the list. Use ↑ and ↓ to move through it.</p>
            </section>
          ) : (
            <>
              <ChatView key={openId} sessionId={openId} focusRequest={opened.how === 'select' ? opened.n : null} onClose={() => open(null)} />
              <DetailsPanel sessionId={openId} />
            </>
          )}
        </div>
      )}
    </div>
  );
}
