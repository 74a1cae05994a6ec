import { useQuery, useQueryClient } from '@tanstack/react-query';
import { NavLink, Route, Routes, useLocation } from 'react-router';
import { AccessPage } from './pages/Access.tsx';
import { consoleApi, setCsrfToken, unwrap, type Me } from './api.ts';
import { InboxPage } from './pages/Inbox.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { SessionPage } from './pages/Session.tsx';
import { IdentitiesPage } from './pages/Identities.tsx';
import { PolicyPage } from './pages/Policy.tsx';
import { ErrorNote, Loading } from './components/States.tsx';

export function App() {
  const me = useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      const answer = await consoleApi.GET('/auth/me');
      const data = answer.response.status === 204 ? null : unwrap(answer);
      if (!data) return null;
      setCsrfToken(data.csrfToken);
      return data;
    },
    staleTime: 60_000,
  });
  if (me.isPending) return <Loading what="your login" />;
  if (me.error) return <ErrorNote error={me.error} />;
  if (me.data === null) return <LoginPage />;
  return <Shell me={me.data} />;
}

function LoginPage() {
  const location = useLocation();
  const returnTo = `${location.pathname}${location.search}`;
  return (
    <main className="login">
      <div className="card">
        <h1>Portcullis console</h1>
        <p>Approve held commands, review sessions and identities, and read the policy in force.</p>
        <a className="button primary" href={`/auth/login?returnTo=${encodeURIComponent(returnTo)}`}>
          Log in with your identity provider
        </a>
      </div>
    </main>
  );
}

function Shell({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const logout = async () => {
    await consoleApi.POST('/auth/logout');
    queryClient.clear();
    window.location.assign('/');
  };
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand">Portcullis</span>
        <nav aria-label="Main">
          <NavLink to="/">Approvals</NavLink>
          {me.canReadAudit && <NavLink to="/sessions">Sessions</NavLink>}
          {me.canReadAudit && <NavLink to="/identities">Identities</NavLink>}
          {me.canReadPolicy && <NavLink to="/policy">Policy</NavLink>}
          {me.canAdmin && <NavLink to="/access">Access</NavLink>}
        </nav>
        <span className="who" title={`groups: ${me.groups.join(', ') || 'none'}`}>
          {me.name ?? me.subject} <span className="muted">({me.groups.join(', ') || 'no groups'})</span>
        </span>
        <button type="button" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <main id="main">
        <Routes>
          <Route path="/" element={<InboxPage me={me} />} />
          <Route path="/sessions" element={me.canReadAudit ? <SessionsPage /> : <NoAccess what="Sessions" group="auditors" />} />
          <Route path="/sessions/:id" element={me.canReadAudit ? <SessionPage /> : <NoAccess what="Sessions" group="auditors" />} />
          <Route path="/identities" element={me.canReadAudit ? <IdentitiesPage /> : <NoAccess what="Identities" group="auditors" />} />
          <Route path="/policy" element={me.canReadPolicy ? <PolicyPage me={me} /> : <NoAccess what="The policy" group="auditors or approvers" />} />
          <Route path="/access" element={me.canAdmin ? <AccessPage /> : <NoAccess what="Access (revocation and live sessions)" group="admins" />} />
          <Route path="*" element={<p>No such page.</p>} />
        </Routes>
      </main>
    </>
  );
}

function NoAccess({ what, group }: { what: string; group: string }) {
  return (
    <section className="card" role="alert">
      <h1>Not available</h1>
      <p>
        {what} can be seen by members of the {group} group only.
      </p>
    </section>
  );
}
