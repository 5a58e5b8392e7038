/**
 * Builds an UpdateExpression from named parts: `set` attributes (null is stored as NULL),
 * optional `remove` attributes, and a condition assembled from the caller's clauses.
 * Attribute names are always aliased, so reserved words (`status`, `ttl`, `cursor`) are safe.
 */
export interface UpdateParts {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
  ConditionExpression?: string;
}

export interface Condition {
  /** Fragment using `#name` and `:value` placeholders supplied below. */
  expression: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
}

export function buildUpdate(
  set: Record<string, unknown>,
  options: { remove?: string[]; conditions?: Condition[] } = {},
): UpdateParts {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const assignments: string[] = [];
  let i = 0;
  for (const [attribute, value] of Object.entries(set)) {
    if (value === undefined) continue;
    names[`#u${i}`] = attribute;
    values[`:u${i}`] = value;
    assignments.push(`#u${i} = :u${i}`);
    i += 1;
  }
  const removals: string[] = [];
  for (const attribute of options.remove ?? []) {
    names[`#r${i}`] = attribute;
    removals.push(`#r${i}`);
    i += 1;
  }
  const conditions: string[] = [];
  for (const condition of options.conditions ?? []) {
    Object.assign(names, condition.names);
    Object.assign(values, condition.values);
    conditions.push(`(${condition.expression})`);
  }
  const expression = [
    assignments.length > 0 ? `SET ${assignments.join(', ')}` : '',
    removals.length > 0 ? `REMOVE ${removals.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  if (!expression) throw new Error('buildUpdate: nothing to update');
  return {
    UpdateExpression: expression,
    ExpressionAttributeNames: names,
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
    ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
  };
}

/** The item exists (by its partition key attribute). */
export const itemExists: Condition = { expression: 'attribute_exists(#pk)', names: { '#pk': 'pk' } };
