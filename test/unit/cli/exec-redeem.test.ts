import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exec, token } from '#shared/cli/exec.ts';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
}

let server: Server;
let base: string;
let home: string;
let seen: Seen[];
let answer: { status: number; body: string };

const read = async (req: IncomingMessage): Promise<string> => {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
};

beforeEach(async () => {
  seen = [];
  home = await mkdtemp(join(tmpdir(), 'kf-exec-'));
  server = createServer(async (req, res) => {
    seen.push({
      method: req.method,
      url: req.url,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body: await read(req),
    });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise((done) => server.close(done));
  await rm(home, { recursive: true, force: true });
});

describe('keyfleet exec: ticket redemption over node:http', () => {
  it('posts the ticket once as JSON and reports a refusal with its status and code', async () => {
    answer = { status: 409, body: JSON.stringify({ error: { code: 'ticket_used', message: 'Ticket already used.' } }) };
    const run = exec(['true'], { KEYFLEET_URL: `${base}/`, KEYFLEET_TICKET: 'kfk_test_ticket', HOME: home });
    await expect(run).rejects.toThrow('keyfleet: ticket redemption failed (409 ticket_used): Ticket already used.');
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/v1/tickets/redeem',
        contentType: 'application/json',
        authorization: undefined,
        body: '{"ticket":"kfk_test_ticket"}',
      },
    ]);
    expect(await readdir(home)).toEqual([]);
  });

  it('refuses a 200 answer that is not a profile, writing nothing', async () => {
    answer = { status: 200, body: 'null' };
    const run = exec(['true'], { KEYFLEET_URL: base, KEYFLEET_TICKET: 'kfk_test_ticket', HOME: home });
    await expect(run).rejects.toThrow('keyfleet: ticket redemption answered 200 without a profile');
    expect(await readdir(home)).toEqual([]);
  });

  it('keyfleet token sends the task token as a bearer and prints the answer as it came', async () => {
    answer = { status: 200, body: '{"access_token":"at-1","expires_in":300}' };
    const out = await token('codex', { KEYFLEET_URL: base, KEYFLEET_TASK_TOKEN: 'kft_test_task' });
    expect(out).toBe('{"access_token":"at-1","expires_in":300}');
    expect(seen).toEqual([
      {
        method: 'GET',
        url: '/v1/tasks/token?provider=codex',
        contentType: undefined,
        authorization: 'Bearer kft_test_task',
        body: '',
      },
    ]);
    answer = { status: 401, body: '{"error":{"code":"unauthorized"}}' };
    await expect(token('codex', { KEYFLEET_URL: base, KEYFLEET_TASK_TOKEN: 'kft_test_task' })).rejects.toThrow(
      'keyfleet token: 401',
    );
  });
});
