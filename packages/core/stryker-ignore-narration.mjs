// A Stryker ignorer (stryker.config.mjs): leaves unmutated the engine's debug and info log calls, which narrate what
// went right ("volume mounted", "mount counted"). Their text and fields are for reading, and no test should pin
// their wording. warn and error calls stay mutated: they are what an operator acts on, and tests check that they
// fire and name the volume, the caller or the backing. Written as a plain object rather than with
// @stryker-mutator/api's declareValuePlugin, which is not a direct dependency.

const NARRATION = new Set(['debug', 'info']);

export const strykerPlugins = [
  {
    kind: 'Ignore',
    name: 'log-narration',
    value: {
      shouldIgnore(path) {
        if (!path.isCallExpression()) return undefined;
        const callee = path.node.callee;
        if (callee.type !== 'MemberExpression' || callee.property.type !== 'Identifier') return undefined;
        if (!NARRATION.has(callee.property.name)) return undefined;
        const target = callee.object;
        const isLogger =
          (target.type === 'MemberExpression' &&
            target.property.type === 'Identifier' &&
            target.property.name === 'logger') ||
          (target.type === 'Identifier' && target.name === 'logger');
        return isLogger ? 'debug and info logs narrate success; nothing depends on their wording' : undefined;
      },
    },
  },
];
