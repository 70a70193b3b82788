// node --test salesforce/bridge/test/ : the omniPresenceBridge's decisions, without Salesforce.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
    COMMAND_CHANNEL,
    ERROR_MAX_LENGTH,
    applyCommand,
    classifyError,
    confirmsStatus,
    createDeduper,
    decide,
    id15,
    parseCommand,
    resultEvent,
    retryDecision,
    sameId
} from '../lwc/omniPresenceBridge/bridgeLogic.js';

const AGENT = '005000000000001AAA';
const AGENT_15 = '005000000000001';
const OTHER = '005000000000002AAA';
const STATUS = '0N5000000000001AAA';

function message(fields, replayId = 7) {
    return {
        channel: COMMAND_CHANNEL,
        data: { schema: 'x', payload: { CreatedDate: '2026-01-01T00:00:00Z', ...fields }, event: { replayId } }
    };
}

const command = (id = 'c-1', user = AGENT, status = STATUS) =>
    message({ CommandId__c: id, UserId__c: user, StatusId__c: status });

test('ids compare in their 15- and 18-character forms, case-sensitively', () => {
    assert.equal(id15(AGENT), AGENT_15);
    assert.ok(sameId(AGENT, AGENT_15));
    assert.ok(!sameId(AGENT, OTHER));
    assert.ok(!sameId('005ab0000000001', '005Ab0000000001'), 'Salesforce 15-character ids are case-sensitive');
    assert.equal(id15('short'), null);
    assert.equal(id15(undefined), null);
    assert.ok(!sameId(undefined, undefined));
});

test('a command message is parsed; malformed ones say why', () => {
    assert.deepEqual(parseCommand(command()), { commandId: 'c-1', userId: AGENT, statusId: STATUS, replayId: 7 });
    assert.match(parseCommand({}).error, /no payload/);
    assert.match(parseCommand(message({ UserId__c: AGENT, StatusId__c: STATUS })).error, /CommandId__c/);
    assert.match(parseCommand(message({ CommandId__c: 'c', UserId__c: 'bob', StatusId__c: STATUS })).error, /UserId__c/);
    assert.match(parseCommand(message({ CommandId__c: 'c', UserId__c: AGENT, StatusId__c: null })).error, /StatusId__c/);
});

test('commands for other users are ignored; ours are applied once', () => {
    const deduper = createDeduper();
    const context = { currentUserId: AGENT_15, deduper };
    assert.equal(decide(command('c-1', OTHER), context).reason, 'other-user');
    assert.equal(decide(command('c-1'), context).action, 'apply');
    assert.equal(decide(command('c-1'), context).reason, 'duplicate', 'a redelivered command is dropped');
    assert.equal(decide(command('c-2'), context).action, 'apply');
    assert.equal(decide({ data: {} }, context).action, 'ignore');
    assert.match(decide({ data: {} }, context).reason, /^malformed/);
});

test('another user\'s command does not use up the id for us', () => {
    const deduper = createDeduper();
    assert.equal(decide(command('shared', OTHER), { currentUserId: AGENT, deduper }).reason, 'other-user');
    assert.equal(decide(command('shared'), { currentUserId: AGENT, deduper }).action, 'apply');
});

test('the deduper is bounded and forgets ids older than its ttl', () => {
    let clock = 0;
    const deduper = createDeduper({ capacity: 3, ttlMs: 1000, now: () => clock });
    for (const id of ['a', 'b', 'c', 'd']) {
        assert.ok(deduper.firstTime(id));
    }
    assert.equal(deduper.size, 3);
    assert.ok(deduper.firstTime('a'), 'the oldest id was forgotten to stay within capacity');
    assert.ok(!deduper.firstTime('d'));
    clock = 5000;
    assert.ok(deduper.firstTime('d'), 'expired after the ttl');
    deduper.forget('d');
    assert.ok(deduper.firstTime('d'));
    assert.throws(() => createDeduper({ capacity: 0 }), RangeError);
});

test('failures are permanent or transient by what they say', () => {
    assert.equal(classifyError(new Error('The presence status has not been granted to the user')), 'permanent');
    assert.equal(classifyError('Invalid status ID'), 'permanent');
    assert.equal(classifyError({ message: 'Agent is not logged in to Omni-Channel' }), 'permanent');
    assert.equal(classifyError(new Error('Omni-Channel is not ready yet')), 'transient');
    assert.equal(classifyError(new Error('request timed out')), 'transient');
    assert.equal(classifyError(undefined), 'transient', 'unknown failures get retried');
});

test('retries back off exponentially with jitter, are capped, and stop', () => {
    const low = { random: () => 0 };
    const high = { random: () => 1 };
    assert.deepEqual(retryDecision('not ready', 1, low), { retry: true, delayMs: 250 });
    assert.deepEqual(retryDecision('not ready', 1, high), { retry: true, delayMs: 500 });
    assert.deepEqual(retryDecision('not ready', 3, high), { retry: true, delayMs: 2000 });
    assert.deepEqual(retryDecision('not ready', 9, { ...high, maxAttempts: 20 }), { retry: true, delayMs: 8000 });
    assert.deepEqual(retryDecision('not ready', 4, high), { retry: false, reason: 'attempts-exhausted' });
    assert.deepEqual(retryDecision('Invalid status', 1, high), { retry: false, reason: 'permanent' });
});

test('the result event has the Omni_Presence_Result__e fields and a bounded error', () => {
    const parsed = parseCommand(command());
    assert.deepEqual(resultEvent(parsed, { success: true, attempts: 2 }), {
        CommandId__c: 'c-1', UserId__c: AGENT, StatusId__c: STATUS, Success__c: true, Error__c: null, Attempts__c: 2
    });
    const failed = resultEvent(parsed, { success: false, error: new Error('x'.repeat(400)) });
    assert.equal(failed.Success__c, false);
    assert.equal(failed.Error__c.length, ERROR_MAX_LENGTH);
    assert.ok(confirmsStatus(parsed, { statusId: STATUS.slice(0, 15) }));
    assert.ok(!confirmsStatus(parsed, { statusId: '0N5000000000009' }));
    assert.ok(!confirmsStatus(parsed, undefined));
});

test('applyCommand sets the status, retrying what can pass', async () => {
    const parsed = parseCommand(command());
    const calls = [];
    const slept = [];
    let failures = 2;
    const setStatus = async (statusId) => {
        calls.push(statusId);
        if (failures-- > 0) {
            throw new Error('Omni-Channel not initialized');
        }
        return { statusId: STATUS.slice(0, 15), statusName: 'Available' };
    };
    const result = await applyCommand(parsed, {
        setStatus, sleep: async (ms) => slept.push(ms), retry: { random: () => 0 }
    });
    assert.deepEqual(calls, [STATUS, STATUS, STATUS]);
    assert.deepEqual(slept, [250, 500]);
    assert.equal(result.Success__c, true);
    assert.equal(result.Attempts__c, 3);
});

test('applyCommand reports a permanent failure at once and never rejects', async () => {
    const parsed = parseCommand(command());
    let calls = 0;
    const result = await applyCommand(parsed, {
        setStatus: async () => {
            calls += 1;
            throw { message: 'status has not been granted to this user' };
        },
        sleep: async () => assert.fail('no retry for a permanent failure')
    });
    assert.equal(calls, 1);
    assert.deepEqual([result.Success__c, result.Attempts__c], [false, 1]);
    assert.match(result.Error__c, /not been granted/);
});

test('applyCommand treats an answer with another status as a failure', async () => {
    const parsed = parseCommand(command());
    const result = await applyCommand(parsed, {
        setStatus: async () => ({ statusId: '0N5000000000009' }),
        sleep: async () => {},
        retry: { maxAttempts: 2 }
    });
    assert.equal(result.Success__c, false);
    assert.equal(result.Attempts__c, 2);
    assert.match(result.Error__c, /answered status 0N5000000000009/);
});
