// Checks recorded exchanges with a Remnawave panel against the panel's published contract
// (@remnawave/backend-contract, zod schemas): every request body vpnbot sent against the command's RequestSchema,
// every path parameter against its RequestParamSchema, every 2xx answer against its ResponseSchema, and the
// emulator's refusals against the contract's: it answers 400 "Validation failed" exactly for the bodies the contract
// rejects. With --client every request came from vpnbot, so each one must conform. Both API generations: 2.x
// (users addressed by uuid) and 3.x (by numeric id), told apart by the package's version.
// Usage: node check_remnawave.js [--client] <contract package dir> <exchanges.json>
// Exit 0: all conform; 1: the issues are printed; 2: bad usage.
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const clientOnly = args[0] === '--client';
if (clientOnly) args.shift();
if (args.length !== 2) {
  console.error('usage: node check_remnawave.js [--client] <@remnawave/backend-contract package dir> <exchanges.json>');
  process.exit(2);
}
const contract = require(path.resolve(args[0]));
const exchanges = JSON.parse(fs.readFileSync(args[1], 'utf8'));
const version = require(path.join(path.resolve(args[0]), 'package.json')).version;
const major = parseInt(version, 10);
if (major !== 2 && major !== 3) {
  console.error(`contract ${version}: only the 2.x and 3.x user APIs are checked`);
  process.exit(2);
}
// How a user is addressed in a path: 2.x by uuid, 3.x by numeric id.
const id = major === 2 ? '[0-9a-f-]{36}' : '[0-9]+';
const param = major === 2 ? 'uuid' : 'userId';
const byId = (rest) => new RegExp(`^/api/users/(${id})${rest}$`);

// The user routes, as the contract names them: [method, path pattern, command].
const commands = [
  ['POST', /^\/api\/users\/?$/, contract.CreateUserCommand],
  ['PATCH', /^\/api\/users\/?$/, contract.UpdateUserCommand],
  ['GET', /^\/api\/users\/?(\?.*)?$/, major === 2 ? contract.GetAllUsersCommand : contract.GetUsersCommand],
  ['GET', /^\/api\/users\/by-username\/[^/]+$/, contract.GetUserByUsernameCommand],
  ['DELETE', byId(''), contract.DeleteUserCommand],
  ['GET', byId(''), major === 2 ? contract.GetUserByUuidCommand : contract.GetUserByIdCommand],
  ['POST', byId('/actions/revoke'), contract.RevokeUserSubscriptionCommand],
  ['POST', byId('/actions/reset-traffic'), contract.ResetUserTrafficCommand],
  ['POST', byId('/actions/enable'), contract.EnableUserCommand],
  ['POST', byId('/actions/disable'), contract.DisableUserCommand],
];
for (const [method, pattern, command] of commands)
  if (!command) { console.error(`contract ${version}: no command for ${method} ${pattern}`); process.exit(1); }

// The routes must be the contract's own: a renamed route in a new contract fails here, not in production.
const routes = contract.REST_API.USERS;
const expected = [
  [routes.CREATE, '/api/users/'], [routes.UPDATE, '/api/users/'], [routes.GET_BY.USERNAME('x'), '/api/users/by-username/x'],
  [routes.DELETE('u'), '/api/users/u'], [routes.ACTIONS.REVOKE_SUBSCRIPTION('u'), '/api/users/u/actions/revoke'],
  [routes.ACTIONS.RESET_TRAFFIC('u'), '/api/users/u/actions/reset-traffic'],
];
const problems = [];
for (const [actual, wanted] of expected)
  if (actual !== wanted) problems.push(`contract route ${actual} is not ${wanted}`);

const seen = {};
for (const x of exchanges) {
  const match = commands.find(([method, pattern]) => method === x.method && pattern.test(x.path));
  if (!match) { problems.push(`${x.method} ${x.path}: no such route in the contract`); continue; }
  const command = match[2];
  const name = `${x.method} ${x.path.replace(/\?.*/, '').replace(/by-username\/[^/]+/, 'by-username/:username')
    .replace(new RegExp(`^/api/users/${id}`), `/api/users/:${param}`)}`;
  seen[name] = (seen[name] || 0) + 1;
  // The path parameter: a uuid in 2.x, a number in 3.x, as the command's RequestParamSchema (2.x: RequestSchema).
  const addressed = x.path.replace(/\?.*/, '').match(match[1]);
  const paramSchema = command.RequestParamSchema || (typeof command.url === 'function' ? command.RequestSchema : null);
  if (addressed && addressed[1] && paramSchema && x.status !== 401) {
    const r = paramSchema.safeParse({ [param]: addressed[1] });
    const refused = x.status === 400 && x.response && x.response.message === 'Validation failed';
    if (!r.success && (clientOnly || !refused))
      problems.push(`${x.method} ${x.path}: path parameter does not conform: ${JSON.stringify(r.error.issues)}`);
  }
  // A body is RequestBodySchema (3.x everywhere, 2.x for commands addressed by a path parameter, whose
  // RequestSchema is the parameter), else 2.x's RequestSchema. Create and update always have one.
  const bodySchema = command.RequestBodySchema ||
    (typeof command.url !== 'function' && (x.method === 'POST' || x.method === 'PATCH') ? command.RequestSchema : null);
  if (!bodySchema && (command === contract.CreateUserCommand || command === contract.UpdateUserCommand))
    problems.push(`${x.method} ${x.path}: the contract ${version} has no request schema this checker knows`);
  if (bodySchema && x.status !== 401) {
    const r = bodySchema.safeParse(x.request === null ? undefined : x.request);
    const emulatorRefused = x.status === 400 && x.response && x.response.message === 'Validation failed';
    if (!r.success && (clientOnly || !emulatorRefused))
      problems.push(`${x.method} ${x.path}: request does not conform: ${JSON.stringify(r.error.issues)}`);
    if (r.success && emulatorRefused)
      problems.push(`${x.method} ${x.path}: the emulator refused a body the contract accepts: ${JSON.stringify(x.request)}`);
  }
  if (x.status >= 200 && x.status < 300 && command.ResponseSchema) {
    const r = command.ResponseSchema.safeParse(x.response);
    if (!r.success) problems.push(`${x.method} ${x.path}: response does not conform: ${JSON.stringify(r.error.issues)}`);
  }
}
if (problems.length) {
  console.error(`contract ${version}: ${problems.length} problem(s)`);
  for (const p of problems.slice(0, 50)) console.error(p);
  process.exit(1);
}
console.log(JSON.stringify({ contract: version, exchanges: exchanges.length, routes: seen }));
