// Container image references, as the container runtime reads them: the grammar of
// distribution/reference (github.com/distribution/reference, regexp.go), which
// kubelet and kubectl use. A hotfix image arrives from a person (the CLI, the
// decide update), so it is checked against the grammar before it can reach a
// dry-run, an approval request or a kubectl command line. Pure and deterministic:
// the workflow's handlers and the CLI read the same grammar (the workflow sandbox
// bundles this file, so it imports nothing).
//
//   reference      := name [ ":" tag ] [ "@" digest ]
//   name           := [ domain "/" ] path-component [ "/" path-component ]*
//   domain         := host [ ":" port-number ]
//   host           := domain-name | "[" IPv6 "]"
//   path-component := alpha-numeric [ separator alpha-numeric ]*
//   separator      := /[_.]|__|[-]+/
//   tag            := /[\w][\w.-]{0,127}/
//   digest         := algorithm ":" hex (at least 32)

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const name = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const reference = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);

/** The longest name the registry accepts (distribution/reference NameTotalLengthMax). */
const maxNameLength = 255;

export interface ImageReference {
  name: string;
  tag?: string;
  digest?: string;
}

/**
 * The reference's parts, or why it is not one. A reference must pin what it runs:
 * a tag or a digest (a bare name means "latest", which a hotfix must never be).
 */
export function parseImageReference(text: string): ImageReference | { error: string } {
  if (text.length === 0) return { error: 'an image reference is required (e.g. registry.example.com/team/app:hotfix-v1.0.1)' };
  if (text.length > 512) return { error: `the image reference is ${text.length} characters long (at most 512)` };
  if (/[^\x21-\x7e]/.test(text)) return { error: 'the image reference has whitespace or control characters' };
  const match = reference.exec(text);
  if (!match) {
    return {
      error: `'${text.slice(0, 80)}' is not an image reference: [registry[:port]/]path[:tag][@sha256:digest], path in lower case letters, digits and . _ -`,
    };
  }
  const [, imageName = '', imageTag, imageDigest] = match;
  if (imageName.length > maxNameLength) return { error: `the repository name is longer than ${maxNameLength} characters` };
  if (imageTag === undefined && imageDigest === undefined)
    return { error: `'${text}' names no tag or digest: a hotfix image must be pinned (e.g. ${text}:hotfix-v1.0.1)` };
  return { name: imageName, ...(imageTag === undefined ? {} : { tag: imageTag }), ...(imageDigest === undefined ? {} : { digest: imageDigest }) };
}
