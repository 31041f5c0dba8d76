// bulkhead:host/config: the deployment's parameters, read-only.
export function createConfig(parameters: Readonly<Record<string, string>>) {
  return {
    get: (name: string): string | undefined => (Object.hasOwn(parameters, name) ? parameters[name] : undefined),
    getAll: (): [string, string][] => Object.entries(parameters),
  };
}
