import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpCommand } from '@portcullis/schemas';
import { analyzeHttp, classifyKubernetesRequest, classifyKubernetes, encodeNormalizedPath, normalizePath } from '../src/analysis/http.ts';
import type { HttpAnalysis } from '../src/analysis/types.ts';

function request(method: string, target: string, extra: Partial<HttpCommand> = {}): HttpCommand {
  const q = target.indexOf('?');
  return {
    kind: 'http',
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers: {},
    bodySize: 0,
    ...extra,
  };
}

function analysed(method: string, target: string, extra: Partial<HttpCommand> = {}): HttpAnalysis {
  const r = analyzeHttp(request(method, target, extra));
  assert.equal(r.ok, true, `${method} ${target}: ${r.ok ? '' : r.error}`);
  return r as HttpAnalysis;
}

function k8s(method: string, target: string): HttpAnalysis['kubernetes'] {
  return analysed(method, target).kubernetes;
}

// The requests below are the ones kubectl 1.3x sends (kubectl -v=8 shows them).

test('kubectl get pod x', () => {
  assert.deepEqual(k8s('GET', '/api/v1/namespaces/default/pods/x'), { verb: 'get', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'default', name: 'x' });
});

test('kubectl get pods -n prod (list) and -A (all namespaces)', () => {
  assert.deepEqual(k8s('GET', '/api/v1/namespaces/prod/pods?limit=500'), { verb: 'list', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'prod' });
  assert.deepEqual(k8s('GET', '/api/v1/pods?limit=500'), { verb: 'list', apiGroup: '', apiVersion: 'v1', resource: 'pods' });
});

test('kubectl get secret x -o yaml', () => {
  assert.deepEqual(k8s('GET', '/api/v1/namespaces/default/secrets/x'), { verb: 'get', apiGroup: '', apiVersion: 'v1', resource: 'secrets', namespace: 'default', name: 'x' });
});

test('kubectl apply --server-side: PATCH with application/apply-patch+yaml', () => {
  const a = analysed('PATCH', '/apis/apps/v1/namespaces/prod/deployments/web?fieldManager=kubectl&fieldValidation=Strict&force=false', {
    headers: { 'content-type': 'application/apply-patch+yaml' },
  });
  assert.equal(a.method, 'PATCH');
  assert.deepEqual(a.kubernetes, { verb: 'patch', apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments', namespace: 'prod', name: 'web' });
});

test('kubectl apply (client side): GET, then PATCH an existing object or POST a new one', () => {
  assert.equal(k8s('GET', '/apis/apps/v1/namespaces/prod/deployments/web')?.verb, 'get');
  assert.deepEqual(k8s('PATCH', '/apis/apps/v1/namespaces/prod/deployments/web?fieldManager=kubectl-client-side-apply&fieldValidation=Strict'), {
    verb: 'patch', apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments', namespace: 'prod', name: 'web',
  });
  assert.deepEqual(k8s('POST', '/apis/apps/v1/namespaces/prod/deployments?fieldManager=kubectl-client-side-apply&fieldValidation=Strict'), {
    verb: 'create', apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments', namespace: 'prod',
  });
  assert.equal(k8s('PUT', '/apis/apps/v1/namespaces/prod/deployments/web')?.verb, 'update');
  assert.deepEqual(k8s('PATCH', '/apis/apps/v1/namespaces/prod/deployments/web/scale'), {
    verb: 'patch', apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments', subresource: 'scale', namespace: 'prod', name: 'web',
  });
});

test('kubectl delete pod x -n prod, and delete pods --all', () => {
  assert.deepEqual(k8s('DELETE', '/api/v1/namespaces/prod/pods/x'), { verb: 'delete', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'prod', name: 'x' });
  // A DELETE on the collection is deletecollection.
  assert.deepEqual(k8s('DELETE', '/api/v1/namespaces/prod/pods'), { verb: 'deletecollection', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'prod' });
});

test('kubectl logs -f: get on the log subresource', () => {
  assert.deepEqual(k8s('GET', '/api/v1/namespaces/prod/pods/x/log?container=app&follow=true'), {
    verb: 'get', apiGroup: '', apiVersion: 'v1', resource: 'pods', subresource: 'log', namespace: 'prod', name: 'x',
  });
});

test('kubectl exec / attach / port-forward: connect, upgraded POST or GET', () => {
  const exec = { verb: 'connect', apiGroup: '', apiVersion: 'v1', resource: 'pods', subresource: 'exec', namespace: 'prod', name: 'x' };
  assert.deepEqual(k8s('POST', '/api/v1/namespaces/prod/pods/x/exec?command=sh&command=-c&command=id&container=app&stdin=true&stdout=true&tty=true'), exec);
  assert.deepEqual(analysed('GET', '/api/v1/namespaces/prod/pods/x/exec?command=sh', { upgrade: 'websocket' }).kubernetes, exec);
  assert.equal(k8s('POST', '/api/v1/namespaces/prod/pods/x/attach?stdin=true')?.verb, 'connect');
  assert.deepEqual(k8s('POST', '/api/v1/namespaces/prod/pods/x/portforward'), { ...exec, subresource: 'portforward' });
  // proxy subresources keep the method's verb, as the API server authorises them.
  assert.deepEqual(k8s('GET', '/api/v1/namespaces/prod/services/web/proxy/metrics'), {
    verb: 'get', apiGroup: '', apiVersion: 'v1', resource: 'services', subresource: 'proxy', namespace: 'prod', name: 'web',
  });
});

test('watch: ?watch=true / watch=1 on a list, and the legacy /watch/ paths', () => {
  assert.equal(k8s('GET', '/api/v1/namespaces/prod/pods?watch=true&resourceVersion=123')?.verb, 'watch');
  assert.equal(k8s('GET', '/api/v1/namespaces/prod/pods?watch=1')?.verb, 'watch');
  assert.equal(k8s('GET', '/api/v1/namespaces/prod/pods?watch=false')?.verb, 'list');
  assert.equal(k8s('GET', '/api/v1/namespaces/prod/pods?watch=0')?.verb, 'list');
  assert.deepEqual(k8s('GET', '/api/v1/watch/namespaces/prod/pods'), { verb: 'watch', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'prod' });
  assert.deepEqual(k8s('GET', '/apis/apps/v1/watch/deployments'), { verb: 'watch', apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments' });
  // kubectl get pod x -w lists with a metadata.name field selector: the name is known.
  assert.deepEqual(k8s('GET', '/api/v1/namespaces/prod/pods?fieldSelector=metadata.name%3Dx&watch=true'), {
    verb: 'watch', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'prod', name: 'x',
  });
});

test('namespaces themselves, and their status/finalize subresources', () => {
  assert.deepEqual(k8s('DELETE', '/api/v1/namespaces/prod'), { verb: 'delete', apiGroup: '', apiVersion: 'v1', resource: 'namespaces', namespace: 'prod', name: 'prod' });
  assert.deepEqual(k8s('GET', '/api/v1/namespaces'), { verb: 'list', apiGroup: '', apiVersion: 'v1', resource: 'namespaces' });
  assert.deepEqual(k8s('PUT', '/api/v1/namespaces/prod/finalize'), {
    verb: 'update', apiGroup: '', apiVersion: 'v1', resource: 'namespaces', subresource: 'finalize', namespace: 'prod', name: 'prod',
  });
});

test('cluster-scoped and custom resources', () => {
  assert.deepEqual(k8s('GET', '/api/v1/nodes/n1'), { verb: 'get', apiGroup: '', apiVersion: 'v1', resource: 'nodes', name: 'n1' });
  assert.deepEqual(k8s('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings'), {
    verb: 'create', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1', resource: 'clusterrolebindings',
  });
  assert.equal(k8s('GET', '/apis/example.com/v1alpha1/namespaces/a/widgets/w')?.resource, 'widgets');
});

test('non-resource URLs are plain HTTP', () => {
  for (const path of ['/healthz', '/livez', '/readyz', '/version', '/openapi/v2', '/openapi/v3', '/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/metrics']) {
    const a = analysed('GET', path);
    assert.equal(a.kubernetes, undefined, path);
    assert.equal(classifyKubernetesRequest('GET', path, ''), undefined, path);
  }
});

test('classifyKubernetesRequest is what the proxy calls; invalid resource paths are told apart', () => {
  assert.deepEqual(classifyKubernetesRequest('get', '/api/v1/namespaces/prod/pods', 'watch=true'), {
    verb: 'watch', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'prod',
  });
  assert.equal(classifyKubernetesRequest('GET', '/api/v1/watch', ''), undefined);
  assert.equal(classifyKubernetes('GET', '/api/v1/watch', '').kind, 'invalid');
  assert.equal(analyzeHttp(request('GET', '/api/v1/watch')).ok, false, 'fails closed');
  assert.equal(analyzeHttp(request('OPTIONS', '/api/v1/pods')).ok, false, 'a method with no Kubernetes verb fails closed');
});

test('the proxy-supplied classification is used as is', () => {
  const kubernetes = { verb: 'get' as const, apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'a', name: 'b' };
  assert.deepEqual(analysed('GET', '/custom/prefix/pods/b', { kubernetes }).kubernetes, kubernetes);
});

test('method is upper-cased; path normalised', () => {
  const a = analysed('get', '//api//v1/./namespaces/prod/pods/');
  assert.equal(a.method, 'GET');
  assert.equal(a.path, '/api/v1/namespaces/prod/pods/');
  assert.deepEqual(normalizePath('/a/b/../c/%7Euser'), { ok: true, path: '/a/c/~user' });
  assert.deepEqual(normalizePath('/'), { ok: true, path: '/' });
});

test('dot segments are resolved before classification: prod/../kube-system is kube-system', () => {
  const a = analysed('GET', '/api/v1/namespaces/prod/../kube-system/secrets/token');
  assert.equal(a.path, '/api/v1/namespaces/kube-system/secrets/token');
  assert.deepEqual(a.kubernetes, { verb: 'get', apiGroup: '', apiVersion: 'v1', resource: 'secrets', namespace: 'kube-system', name: 'token' });
  assert.equal(analysed('GET', '/api/v1/namespaces/prod/%2e%2e/kube-system/secrets').kubernetes?.namespace, 'kube-system');
});

test('path evasions fail closed', () => {
  for (const [path, why] of [
    ['/api/v1/namespaces/prod%2F..', 'encoded slash'],
    ['/api/v1/namespaces/prod%2f../kube-system/secrets', 'encoded slash, lower case'],
    ['/api/v1/namespaces/prod%5C..%5Ckube-system/secrets', 'encoded backslash'],
    ['/api/v1/namespaces/prod%00/pods', 'NUL'],
    ['/api/v1/namespaces/%252e%252e/secrets', 'double-encoded dots'],
    ['/api/v1/namespaces/prod%252Fx/pods', 'double-encoded slash'],
    ['/api/v1/%E0%A4%A/pods', 'malformed encoding'],
    ['/../etc/passwd', 'escapes the root'],
    ['/api/../../etc', 'escapes the root via ..'],
    ['/api/%2e%2e/%2e%2e/etc', 'escapes the root via encoded dots'],
    ['api/v1/pods', 'relative path'],
    ['/status/..;/admin', 'path parameter after ..'],
    ['/status/%2e%2e%3b/admin', 'encoded path parameter'],
    ['/v1/customers;jsessionid=x', 'path parameter'],
  ] as const) {
    const r = analyzeHttp(request('GET', path));
    assert.equal(r.ok, false, `${why}: ${path}`);
    assert.match((r as { error: string }).error, /^unparseable: /);
  }
});

test('the path sent upstream is the normalised one, each segment encoded once', () => {
  assert.equal(encodeNormalizedPath('/status'), '/status');
  assert.equal(encodeNormalizedPath('/files/a b/%/ü'), '/files/a%20b/%25/%C3%BC');
  assert.equal(encodeNormalizedPath('/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node'), '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node');
  assert.equal(encodeNormalizedPath('/a/b+c,d=e@f/'), '/a/b+c,d=e@f/');
  for (const raw of ['/a/%2e%2e/b', '//x/..//%73tatus', '/a/%25zz', '/t/%E2%82%AC/']) {
    const n = normalizePath(raw);
    assert.ok(n.ok);
    assert.deepEqual(normalizePath(encodeNormalizedPath(n.path)), n, `${raw}: re-reading what goes upstream gives what was judged`);
  }
});
