// The three patch types kubectl and the client libraries send: JSON patch
// (RFC 6902; `rollout undo`), JSON merge patch (RFC 7386; `scale`) and strategic
// merge patch (`rollout restart`, `set image`, `patch`), where lists such as
// containers merge by a key instead of being replaced.
//
// Error messages name paths, never values: a patch to a Secret carries secret values.
import { ApiError, badRequest } from './errors.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export const patchTypes = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;
export type PatchType = keyof typeof patchTypes;

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  return (Object.keys(patchTypes) as PatchType[]).find((t) => patchTypes[t] === mediaType);
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const unprocessable = (detail: string): ApiError => new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${detail}`);

/** Applies a patch of the given type to a copy of `original`. */
export function applyPatch(type: PatchType, original: object, patch: unknown, kind: string): JsonObject {
  const copy = structuredClone(original) as JsonObject;
  switch (type) {
    case 'json':
      return jsonPatch(copy, patch);
    case 'merge': {
      if (!isObject(patch)) throw badRequest('a merge patch must be a JSON object');
      return mergePatch(copy, patch) as JsonObject;
    }
    case 'strategic': {
      if (!isObject(patch)) throw badRequest('a strategic merge patch must be a JSON object');
      const merged = strategicMerge(copy, patch, [], kind);
      return isObject(merged) ? merged : {};
    }
  }
}

// ---- RFC 7386 ----

function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

// ---- RFC 6902 ----

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, parts: string[], op: string, pointer: string): { parent: Json; key: string } {
  let node: Json | undefined = doc;
  for (const part of parts.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
    if (node === undefined) throw unprocessable(`jsonpatch ${op} operation does not apply: doc is missing path: "${pointer}"`);
  }
  return { parent: node, key: parts[parts.length - 1] ?? '' };
}

function read(doc: Json, pointer: string, op: string): Json {
  let node: Json | undefined = doc;
  for (const part of parsePointer(pointer)) {
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
    if (node === undefined) throw unprocessable(`jsonpatch ${op} operation does not apply: doc is missing path: "${pointer}"`);
  }
  return node;
}

function arrayIndex(parent: Json[], key: string, allowEnd: boolean, op: string, pointer: string): number {
  if (allowEnd && key === '-') return parent.length;
  const index = Number(key);
  if (!/^\d+$/.test(key) || index > parent.length || (!allowEnd && index === parent.length)) {
    throw unprocessable(`jsonpatch ${op} operation does not apply: index out of range in "${pointer}"`);
  }
  return index;
}

function remove(doc: Json, pointer: string, op: string): Json {
  const parts = parsePointer(pointer);
  const { parent, key } = parentOf(doc, parts, op, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, false, op, pointer);
    return parent.splice(i, 1)[0] ?? null;
  }
  if (!isObject(parent) || !(key in parent)) throw unprocessable(`jsonpatch ${op} operation does not apply: doc is missing key: "${pointer}"`);
  const value = parent[key] ?? null;
  delete parent[key];
  return value;
}

function add(doc: Json, pointer: string, value: Json, op: string, replace: boolean): Json {
  const parts = parsePointer(pointer);
  if (parts.length === 0) return value;
  const { parent, key } = parentOf(doc, parts, op, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, !replace, op, pointer);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    if (replace && !(key in parent)) throw unprocessable(`jsonpatch ${op} operation does not apply: doc is missing key: "${pointer}"`);
    parent[key] = value;
  } else {
    throw unprocessable(`jsonpatch ${op} operation does not apply: doc is missing path: "${pointer}"`);
  }
  return doc;
}

function jsonPatch(doc: JsonObject, patch: unknown): JsonObject {
  if (!Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
  let result: Json = doc;
  for (const raw of patch) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('each JSON patch operation needs "op" and "path"');
    }
    const { op, path } = raw;
    const from = typeof raw.from === 'string' ? raw.from : undefined;
    switch (op) {
      case 'add':
      case 'replace':
        if (!('value' in raw)) throw badRequest(`jsonpatch ${op} operation needs a "value"`);
        result = add(result, path, structuredClone(raw.value ?? null), op, op === 'replace');
        break;
      case 'remove':
        remove(result, path, op);
        break;
      case 'move':
      case 'copy': {
        if (from === undefined) throw badRequest(`jsonpatch ${op} operation needs "from"`);
        const value = op === 'move' ? remove(result, from, op) : structuredClone(read(result, from, op));
        result = add(result, path, value, op, false);
        break;
      }
      case 'test':
        if (JSON.stringify(read(result, path, op)) !== JSON.stringify(raw.value ?? null)) {
          throw unprocessable(`testing value ${path} failed`);
        }
        break;
      default:
        throw badRequest(`unexpected JSON patch operation "${op}"`);
    }
  }
  if (!isObject(result)) throw unprocessable('the patch replaced the whole object with a non-object');
  return result;
}

// ---- strategic merge patch ----

// patchMergeKey of the list fields the sandbox's objects have (from the Kubernetes
// API types' struct tags); other lists are replaced, as for a merge patch.
const mergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  resourceClaims: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
};
// Lists of scalars merged as sets.
const primitiveMergeLists = new Set(['finalizers']);

function mergeKeyFor(path: string[], kind: string): string | undefined {
  const field = path[path.length - 1] ?? '';
  if (field === 'ports') {
    if (kind === 'Service' && path.length === 2 && path[0] === 'spec') return 'port';
    if (path[path.length - 2] === 'containers' || path[path.length - 2] === 'initContainers') return 'containerPort';
    return undefined;
  }
  if (field === 'addresses' && kind === 'Node') return 'type';
  return mergeKeys[field];
}

function strategicMerge(original: Json | undefined, patch: Json, path: string[], kind: string): Json | undefined {
  if (!isObject(patch)) return patch;
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  const body: JsonObject = {};
  for (const [k, v] of Object.entries(patch)) if (k !== '$patch') body[k] = v;
  if (directive === 'replace') return stripDirectives(body);
  if (directive !== undefined && directive !== 'merge') throw badRequest(`unknown patch directive $patch: ${JSON.stringify(directive)}`);

  const result: JsonObject = isObject(original) ? original : {};
  const retain = body.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  for (const [key, value] of Object.entries(body)) {
    if (key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const list = result[field];
      if (Array.isArray(list) && Array.isArray(value)) {
        result[field] = list.filter((item) => !value.some((v) => JSON.stringify(v) === JSON.stringify(item)));
      }
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const childPath = [...path, key];
    if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, childPath, kind);
      continue;
    }
    const merged = strategicMerge(result[key], value, childPath, kind);
    if (merged === undefined) delete result[key];
    else result[key] = merged;
  }
  return result;
}

function mergeList(original: Json | undefined, patch: Json[], path: string[], kind: string): Json[] {
  const field = path[path.length - 1] ?? '';
  const current = Array.isArray(original) ? original : [];
  if (primitiveMergeLists.has(field)) {
    const out = [...current];
    for (const v of patch) if (!out.some((o) => JSON.stringify(o) === JSON.stringify(v))) out.push(v);
    return out;
  }
  const key = mergeKeyFor(path, kind);
  if (!key) return patch.map((item) => stripDirectives(item));
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map((item) => stripDirectives(item));
  }
  const out = [...current];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const id = item[key];
    const index = out.findIndex((o) => isObject(o) && id !== undefined && JSON.stringify(o[key]) === JSON.stringify(id));
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = strategicMerge(out[index], item, path, kind);
      if (merged === undefined) out.splice(index, 1);
      else out[index] = merged;
    } else {
      out.push(stripDirectives(item));
    }
  }
  return out;
}

/** Removes $-directives from a value that is inserted rather than merged. */
function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = stripDirectives(v);
  return out;
}
