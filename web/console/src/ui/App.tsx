// Top level: who is signed in, and which project they work in.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Api } from '../api/http';
import type { Me } from '../api/types';
import { routeFromPath } from '../lib/route';
import { InboxScreen } from './InboxScreen';
import { LoginPage } from './LoginPage';

type Auth = { kind: 'checking' } | { kind: 'signedOut' } | { kind: 'signedIn'; me: Me };

const PROJECT_KEY = 'sb.console.project';

function preferredProject(me: Me): number | null {
  if (me.projects.length === 0) return null;
  const saved = Number(localStorage.getItem(`${PROJECT_KEY}.u${me.user.id}`));
  const found = me.projects.find((p) => p.project.id === saved);
  return (found ?? me.projects[0]).project.id;
}

export function App() {
  const api = useMemo(() => new Api(), []);
  const [auth, setAuth] = useState<Auth>({ kind: 'checking' });
  const [projectId, setProjectId] = useState<number | null>(null);

  useEffect(() => {
    let live = true;
    api.me().then(
      (me) => {
        if (!live) return;
        setAuth({ kind: 'signedIn', me });
        setProjectId(preferredProject(me));
      },
      () => live && setAuth({ kind: 'signedOut' }),
    );
    return () => {
      live = false;
    };
  }, [api]);

  const signedIn = useCallback((me: Me) => {
    setAuth({ kind: 'signedIn', me });
    setProjectId(preferredProject(me));
  }, []);

  const signedOut = useCallback(() => {
    setAuth({ kind: 'signedOut' });
    setProjectId(null);
    if (window.location.pathname !== '/') window.history.replaceState(null, '', '/');
  }, []);

  // The member's role or membership changed (the agent socket closed with 4003): reload the
  // permissions the screens show; a project the member left falls back to another one.
  const refreshAccess = useCallback(() => {
    api.me().then(
      (me) => {
        setAuth({ kind: 'signedIn', me });
        setProjectId((current) => (me.projects.some((p) => p.project.id === current) ? current : preferredProject(me)));
      },
      () => undefined,
    );
  }, [api]);

  const logout = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      signedOut();
    }
  }, [api, signedOut]);

  const switchProject = useCallback(
    (id: number) => {
      if (auth.kind !== 'signedIn') return;
      localStorage.setItem(`${PROJECT_KEY}.u${auth.me.user.id}`, String(id));
      // A settings or sessions page stays open for the other project; an open chat belongs to this one.
      if (routeFromPath(window.location.pathname).kind === 'inbox') window.history.replaceState(null, '', '/');
      setProjectId(id);
    },
    [auth],
  );

  if (auth.kind === 'checking') return <div className="boot" aria-busy="true" />;
  if (auth.kind === 'signedOut') return <LoginPage api={api} onSignedIn={signedIn} />;

  const membership = auth.me.projects.find((p) => p.project.id === projectId);
  if (!membership) {
    return (
      <div className="empty-page">
        <h1>No project yet</h1>
        <p>Your account is not a member of any project. Ask an owner to add you.</p>
        <button type="button" className="btn" data-testid="logout" onClick={logout}>
          Log out
        </button>
      </div>
    );
  }
  return (
    <InboxScreen
      // A new controller (and socket) per project: nothing leaks between projects.
      key={membership.project.id}
      api={api}
      me={auth.me}
      membership={membership}
      onSwitchProject={switchProject}
      onLogout={logout}
      onUnauthenticated={signedOut}
      onAccessChanged={refreshAccess}
    />
  );
}
