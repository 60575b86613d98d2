// A compact way to write CustomResourceDefinitions in TypeScript: schema builders (string,
// object, enum, CEL rules, ...), a kind description, and the CRD object built from it. Used by
// scripts/gen-crds.ts, which writes crds/*.yaml and the Helm chart's CRD template.
import { dump } from 'js-yaml';

/** A CEL validation rule (`x-kubernetes-validations` entry): the API server rejects a write when `rule` is false. */
export interface Rule {
    rule: string;
    message: string;
}

/**
 * One node of an OpenAPI v3 (structural) schema, the subset the snapshot API uses. `v1Only`
 * marks a field the older, unserved v1beta1 schema does not have; it is not emitted.
 */
export interface Schema {
    type?: 'object' | 'string' | 'boolean' | 'integer';
    description?: string;
    format?: 'int64' | 'date-time';
    pattern?: string;
    enum?: string[];
    minimum?: number;
    properties?: Record<string, Schema>;
    additionalProperties?: Schema;
    required?: string[];
    'x-kubernetes-int-or-string'?: true;
    'x-kubernetes-map-type'?: 'atomic';
    'x-kubernetes-validations'?: Rule[];
    v1Only?: true;
}

/** Options every field builder takes: CEL rules on the field, and the v1-only marker. */
export interface FieldOptions {
    rules?: Rule[];
    v1Only?: boolean;
}

function field(s: Schema, o: FieldOptions = {}): Schema {
    if (o.rules?.length) s['x-kubernetes-validations'] = o.rules;
    if (o.v1Only) s.v1Only = true;
    return s;
}

/** A string field. */
export const string = (description: string, o?: FieldOptions): Schema => field({ type: 'string', description }, o);

/** A boolean field. */
export const boolean = (description: string, o?: FieldOptions): Schema => field({ type: 'boolean', description }, o);

/** A 64-bit integer field (Go `int64`), optionally with a lower bound. */
export const int64 = (description: string, o?: FieldOptions & { minimum?: number }): Schema =>
    field({ type: 'integer', format: 'int64', description, ...(o?.minimum !== undefined ? { minimum: o.minimum } : {}) }, o);

/** An RFC 3339 timestamp field (Go `metav1.Time`). */
export const dateTime = (description: string, o?: FieldOptions): Schema => field({ type: 'string', format: 'date-time', description }, o);

/** A string field restricted to `values`. */
export const oneOf = (description: string, values: string[], o?: FieldOptions): Schema => field({ type: 'string', description, enum: values }, o);

/** A map of strings to strings (Go `map[string]string`). */
export const stringMap = (description: string, o?: FieldOptions): Schema =>
    field({ type: 'object', description, additionalProperties: { type: 'string' } }, o);

/** The regular expression a `resource.Quantity` must match (its OpenAPI schema, as controller-gen writes it). */
export const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** A `resource.Quantity` field: an integer or a quantity string such as `1Gi`. */
export const quantity = (description: string, o?: FieldOptions): Schema =>
    field({ type: 'string', description, pattern: QUANTITY_PATTERN, 'x-kubernetes-int-or-string': true }, o);

/** An object field with the given properties; `atomic` makes it replaced as a whole by apply. */
export const object = (description: string, properties: Record<string, Schema>, o?: FieldOptions & { required?: string[]; atomic?: boolean }): Schema =>
    field({ type: 'object', description, properties, ...(o?.required ? { required: o.required } : {}), ...(o?.atomic ? { 'x-kubernetes-map-type': 'atomic' as const } : {}) }, o);

/** CEL: the field cannot change once set. */
export const immutable = (name: string): Rule => ({ rule: 'self == oldSelf', message: `${name} is immutable` });

/** CEL on the parent object: once `name` is set it cannot be removed. */
export const requiredOnceSet = (name: string): Rule => ({ rule: `!has(oldSelf.${name}) || has(self.${name})`, message: `${name} is required once set` });

/** CEL on the parent object: exactly one of the two fields is set. */
export const exactlyOneOf = (a: string, b: string): Rule => ({
    rule: `(has(self.${a}) && !has(self.${b})) || (!has(self.${a}) && has(self.${b}))`,
    message: `exactly one of ${a} and ${b} must be set`,
});

/** A column `kubectl get` prints. */
export interface PrinterColumn {
    name: string;
    type: 'string' | 'boolean' | 'integer' | 'date';
    jsonPath: string;
    description?: string;
}

/** An older version still listed (so clusters that once stored it can update the CRD) but not served. */
export interface LegacyVersion {
    name: string;
    deprecationWarning: string;
}

/** Everything about one kind that its CRD is built from. */
export interface KindDef {
    group: string;
    kind: string;
    plural: string;
    singular: string;
    shortNames: string[];
    scope: 'Namespaced' | 'Cluster';
    /** The served and stored version. */
    version: string;
    legacyVersions: LegacyVersion[];
    /** The `api-approved.kubernetes.io` annotation a CRD in a `*.k8s.io` group must carry. */
    approval: string;
    description: string;
    /** Top-level fields besides apiVersion, kind and metadata. */
    fields: Record<string, Schema>;
    required: string[];
    statusSubresource: boolean;
    printerColumns: PrinterColumn[];
}

/** The CRD object (plain JSON) for a kind: the same shape `kubectl get crd -o yaml` shows, minus status. */
export interface CrdObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; annotations: Record<string, string>; labels?: Record<string, string> };
    spec: Record<string, unknown>;
}

const KEY_ORDER: (keyof Schema)[] = [
    'description',
    'type',
    'format',
    'pattern',
    'enum',
    'minimum',
    'x-kubernetes-int-or-string',
    'properties',
    'additionalProperties',
    'required',
    'x-kubernetes-map-type',
    'x-kubernetes-validations',
];

/**
 * The schema as emitted for one version: keys in a fixed order, properties sorted by name, the
 * `v1Only` marker dropped; for a legacy version also v1-only fields and everything v1 added
 * (CEL rules, map types) removed, as upstream's v1beta1 schema has them.
 */
export function emitSchema(s: Schema, legacy: boolean): Schema {
    const out: Record<string, unknown> = {};
    for (const k of KEY_ORDER) {
        const v = s[k];
        if (v === undefined) continue;
        if (legacy && (k === 'x-kubernetes-validations' || k === 'x-kubernetes-map-type')) continue;
        if (k === 'properties') {
            const props: Record<string, Schema> = {};
            for (const name of Object.keys(v as object).sort()) {
                const p = (v as Record<string, Schema>)[name] as Schema;
                if (legacy && p.v1Only) continue;
                props[name] = emitSchema(p, legacy);
            }
            out[k] = props;
        } else if (k === 'additionalProperties') {
            out[k] = emitSchema(v as Schema, legacy);
        } else {
            out[k] = v;
        }
    }
    return out as Schema;
}

function rootSchema(d: KindDef, version: string, legacy: boolean): Schema {
    const fields: Record<string, Schema> = {
        apiVersion: string(`The versioned schema of this object (${d.group}/${version}).`),
        kind: string(`The kind of this object (${d.kind}).`),
        ...(legacy ? {} : { metadata: { type: 'object' } as Schema }),
        ...d.fields,
    };
    return emitSchema({ type: 'object', description: d.description, properties: fields, required: d.required }, legacy);
}

/** Builds the CustomResourceDefinition for a kind. */
export function buildCrd(d: KindDef): CrdObject {
    const columns = d.printerColumns.map((c) => ({ name: c.name, type: c.type, jsonPath: c.jsonPath, ...(c.description ? { description: c.description } : {}) }));
    const version = (name: string, legacy: LegacyVersion | undefined) => ({
        name,
        served: !legacy,
        storage: !legacy,
        ...(legacy ? { deprecated: true, deprecationWarning: legacy.deprecationWarning } : {}),
        ...(d.statusSubresource ? { subresources: { status: {} } } : {}),
        additionalPrinterColumns: columns,
        schema: { openAPIV3Schema: rootSchema(d, name, !!legacy) },
    });
    return {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${d.plural}.${d.group}`, annotations: { 'api-approved.kubernetes.io': d.approval } },
        spec: {
            group: d.group,
            names: { kind: d.kind, listKind: `${d.kind}List`, plural: d.plural, singular: d.singular, shortNames: d.shortNames },
            scope: d.scope,
            versions: [version(d.version, undefined), ...d.legacyVersions.map((l) => version(l.name, l))],
        },
    };
}

/** The file name upstream tools use for a CRD: `<group>_<plural>.yaml`. */
export function crdFileName(d: KindDef): string {
    return `${d.group}_${d.plural}.yaml`;
}

/** YAML for an object: block style, no line folding, no anchors (stable output for diffs). */
export function toYaml(obj: unknown): string {
    return dump(obj, { lineWidth: -1, noRefs: true, sortKeys: false });
}
