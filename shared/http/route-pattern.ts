/**
 * The pattern a route path (`/v1/providers/{provider}/accounts/{id}`) matches: each `{name}` one
 * path segment, everything else literally, and an optional trailing slash, as API Gateway routes.
 */
export function routePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((part) => (part.startsWith('{') && part.endsWith('}') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}
