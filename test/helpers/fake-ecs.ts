import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resetBeforeEachTest } from '#test/helpers/isolation.ts';

/**
 * ECS has no local peer, so this loopback endpoint speaks just enough of its JSON 1.1 protocol
 * (`x-amz-target: AmazonEC2ContainerServiceV20141113.RunTask`) to record the exact RunTask
 * request the real SDK client sends, and answers with one task.
 */
export interface FakeEcs {
  endpoint: string;
  runTasks: Record<string, unknown>[];
  /** Raw request bodies, for leak checks. */
  raw: string[];
  failNext: (reason: string) => void;
  close: () => Promise<void>;
}

export async function startFakeEcs(): Promise<FakeEcs> {
  const runTasks: Record<string, unknown>[] = [];
  const raw: string[] = [];
  let failure: string | undefined;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    raw.push(body);
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    if (req.headers['x-amz-target'] !== 'AmazonEC2ContainerServiceV20141113.RunTask') {
      res.writeHead(400);
      res.end(JSON.stringify({ __type: 'InvalidParameterException', message: 'only RunTask here' }));
      return;
    }
    const input = JSON.parse(body) as Record<string, unknown>;
    runTasks.push(input);
    if (failure) {
      const reason = failure;
      failure = undefined;
      res.end(JSON.stringify({ tasks: [], failures: [{ reason }] }));
      return;
    }
    res.end(
      JSON.stringify({
        tasks: [
          {
            taskArn: `arn:aws:ecs:eu-west-1:111122223333:task/agents/${String(input.startedBy)}`,
            lastStatus: 'PROVISIONING',
          },
        ],
        failures: [],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Each test sees only its own RunTask calls, and no failure an earlier test asked for and left.
  const unregister = resetBeforeEachTest(() => {
    runTasks.length = 0;
    raw.length = 0;
    failure = undefined;
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    runTasks,
    raw,
    failNext: (reason) => {
      failure = reason;
    },
    close: () =>
      new Promise<void>((resolve) => {
        unregister();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
