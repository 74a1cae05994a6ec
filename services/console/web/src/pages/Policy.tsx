import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { consoleApi, unwrap, type Me } from '../api.ts';
import { EffectBadge, ErrorNote, Loading } from '../components/States.tsx';

const splitList = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

export function PolicyPage({ me }: { me: Me }) {
  const policy = useQuery({ queryKey: ['policy'], queryFn: async () => unwrap(await consoleApi.GET('/api/console/policy')) });
  return (
    <section aria-labelledby="policy-title">
      <h1 id="policy-title">Policy</h1>
      {policy.isPending && <Loading what="the policy" />}
      {policy.error && <ErrorNote error={policy.error} />}
      {policy.data && (
        <>
          <p>
            {policy.data.version === 0 ? (
              'No policy is published: every command is blocked.'
            ) : (
              <>
                Version <strong>{policy.data.version}</strong> of <code>{policy.data.policySetId}</code> is in force; default effect{' '}
                <EffectBadge effect={policy.data.defaultEffect} />.
              </>
            )}
          </p>
          {policy.data.rejected && (
            <div className="error" role="alert">
              Version {policy.data.rejected.version} was refused: {policy.data.rejected.errors.join('; ')}
            </div>
          )}
          <Playground me={me} />
          <h2>Rules</h2>
          <p className="muted">Every rule that matches a command applies; the strictest effect wins (block, then hold, then mask, then allow).</p>
          <ol className="rules">
            {policy.data.rules.map((r) => (
              <li key={r.id} className="card">
                <div className="command-head">
                  <strong>{r.id}</strong> <EffectBadge effect={r.effect} />
                </div>
                {r.description && <p>{r.description}</p>}
                <dl className="facts">
                  {Object.entries(r.match).map(([k, v]) => (
                    <Fact key={k} name={`match ${k}`} value={v} />
                  ))}
                  {Object.entries(r.rule).map(([k, v]) => (
                    <Fact key={k} name={k} value={v} />
                  ))}
                </dl>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

function Fact({ name, value }: { name: string; value: unknown }) {
  const text = typeof value === 'string' ? value : Array.isArray(value) && value.every((v) => typeof v === 'string') ? value.join(', ') : JSON.stringify(value);
  return (
    <>
      <dt>{name}</dt>
      <dd>
        <code>{text}</code>
      </dd>
    </>
  );
}

function Playground({ me }: { me: Me }) {
  const [subject, setSubject] = useState(me.subject);
  const [kind, setKind] = useState<'human' | 'service'>(me.kind);
  const [groups, setGroups] = useState(me.groups.join(', '));
  const [resource, setResource] = useState('demo');
  const [tags, setTags] = useState('production');
  const [language, setLanguage] = useState<'sql' | 'shell' | 'http'>('sql');
  const [text, setText] = useState('');
  const decide = useMutation({
    mutationFn: async () =>
      unwrap(
        await consoleApi.POST('/api/console/decide', {
          body: {
            identity: { subject, kind, groups: splitList(groups) },
            resource: { name: resource, tags: splitList(tags) },
            command: language === 'sql' ? { sql: text } : language === 'shell' ? { shell: text } : { http: text },
          },
        }),
      ),
  });
  const d = decide.data;
  return (
    <section className="card playground" aria-labelledby="playground-title">
      <h2 id="playground-title">Playground</h2>
      <p className="muted">Decide a command as any identity with the policy in force. Nothing runs.</p>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          decide.mutate();
        }}
      >
        <label>
          Identity <input value={subject} onChange={(e) => setSubject(e.target.value)} required />
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
            <option value="human">person</option>
            <option value="service">service</option>
          </select>
        </label>
        <label>
          Groups <input value={groups} onChange={(e) => setGroups(e.target.value)} placeholder="comma-separated" />
        </label>
        <label>
          Resource <input value={resource} onChange={(e) => setResource(e.target.value)} required />
        </label>
        <label>
          Resource tags <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="comma-separated" />
        </label>
        <label>
          Language
          <select value={language} onChange={(e) => setLanguage(e.target.value as typeof language)}>
            <option value="sql">SQL</option>
            <option value="shell">shell</option>
            <option value="http">HTTP request line</option>
          </select>
        </label>
        <label className="wide">
          Command
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={3} required placeholder={language === 'http' ? 'DELETE /api/v1/namespaces/default/pods/web' : language === 'shell' ? 'rm -rf /var/lib/data' : 'DROP TABLE customers'} />
        </label>
        <button type="submit" className="primary" disabled={decide.isPending}>
          Decide
        </button>
      </form>
      {decide.error && <ErrorNote error={decide.error} />}
      {d && (
        <div className="decision" aria-live="polite" data-testid="decision">
          <p>
            Effect: <EffectBadge effect={d.effect} /> {d.ruleIds.length > 0 && <>by rule {d.ruleIds.join(', ')}</>}
          </p>
          <ul>
            {d.reasons.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
          {d.classes.length > 0 && <p>Statement classes: {d.classes.join(', ')}</p>}
          {d.mask && (
            <p>
              Mask: <code>{JSON.stringify(d.mask)}</code>
            </p>
          )}
          {d.approval && (
            <p>
              Approval: <code>{JSON.stringify(d.approval)}</code>
            </p>
          )}
        </div>
      )}
    </section>
  );
}
