/*
 * omniPresenceBridge: the pure logic, with no Salesforce APIs in it, so node's test runner covers it
 * (salesforce/bridge/test/bridgeLogic.test.js). The component (omniPresenceBridge.js) wires it to empApi and
 * to the Omni toolkit of its Aura host.
 *
 * A command is an Omni_Presence_Command__e {UserId__c, StatusId__c, CommandId__c} published by the
 * presence-sync runtime. Every open console receives every command, so the bridge:
 *   1. ignores commands for other users (ids compared the way Salesforce does: 15- or 18-character);
 *   2. applies a CommandId__c once (platform events are delivered at least once, and a retried publish
 *      can deliver the same command twice);
 *   3. calls setServicePresenceStatus({statusId}) and retries only failures that can pass (Omni-Channel still
 *      loading, a network hiccup), with capped exponential backoff and jitter;
 *   4. reports the outcome as an Omni_Presence_Result__e payload.
 */

export const COMMAND_EVENT = 'Omni_Presence_Command__e';
export const COMMAND_CHANNEL = `/event/${COMMAND_EVENT}`;
export const RESULT_EVENT = 'Omni_Presence_Result__e';
export const ERROR_MAX_LENGTH = 255; // Omni_Presence_Result__e.Error__c is Text(255)

const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** The 15-character, case-sensitive form of a Salesforce id (an 18-character id adds a checksum suffix). */
export function id15(id) {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
        return null;
    }
    return id.slice(0, 15);
}

/** Whether two Salesforce ids name the same record, whichever of the 15/18-character forms each uses. */
export function sameId(a, b) {
    const left = id15(a);
    return left !== null && left === id15(b);
}

/**
 * An empApi message -> {commandId, userId, statusId, replayId}, or {error} saying why it is not a command.
 * empApi delivers {channel, data: {schema, payload: {...fields}, event: {replayId}}}.
 */
export function parseCommand(message) {
    const payload = message && message.data && message.data.payload;
    if (!payload || typeof payload !== 'object') {
        return { error: 'no payload' };
    }
    const commandId = payload.CommandId__c;
    const userId = payload.UserId__c;
    const statusId = payload.StatusId__c;
    if (typeof commandId !== 'string' || commandId.trim() === '') {
        return { error: 'CommandId__c is missing' };
    }
    if (id15(userId) === null) {
        return { error: `UserId__c is not a Salesforce id: ${JSON.stringify(userId)}` };
    }
    if (id15(statusId) === null) {
        return { error: `StatusId__c is not a Salesforce id: ${JSON.stringify(statusId)}` };
    }
    const event = message.data.event || {};
    return {
        commandId: commandId.trim(),
        userId,
        statusId,
        replayId: event.replayId === undefined ? null : event.replayId
    };
}

/**
 * Remembers the command ids already handled: bounded (oldest forgotten first) and, with a ttl, forgetting
 * ids older than the ttl. `now` is injectable for tests.
 */
export function createDeduper({ capacity = 500, ttlMs = 10 * 60 * 1000, now = () => Date.now() } = {}) {
    if (!(capacity > 0)) {
        throw new RangeError('capacity must be positive');
    }
    const seen = new Map(); // commandId -> first seen at (insertion order = age)

    function expire() {
        const oldest = now() - ttlMs;
        for (const [id, at] of seen) {
            if (at > oldest && seen.size <= capacity) {
                break;
            }
            seen.delete(id);
        }
    }

    return {
        /** True the first time an id is offered; false for a duplicate. */
        firstTime(commandId) {
            expire();
            if (seen.has(commandId)) {
                return false;
            }
            seen.set(commandId, now());
            expire();
            return true;
        },
        /** Forget an id (a failed command may be re-sent by the runtime with the same id). */
        forget(commandId) {
            seen.delete(commandId);
        },
        get size() {
            return seen.size;
        }
    };
}

/**
 * What to do with one empApi message in the console of `currentUserId`:
 * {action: 'apply', command} | {action: 'ignore', reason, command?}.
 */
export function decide(message, { currentUserId, deduper }) {
    const command = parseCommand(message);
    if (command.error) {
        return { action: 'ignore', reason: `malformed: ${command.error}` };
    }
    if (!sameId(command.userId, currentUserId)) {
        return { action: 'ignore', reason: 'other-user', command };
    }
    if (!deduper.firstTime(command.commandId)) {
        return { action: 'ignore', reason: 'duplicate', command };
    }
    return { action: 'apply', command };
}

// Failures that cannot pass by waiting: the status is not granted or does not exist, or the agent is offline
// (setServicePresenceStatus does not log an agent in; the runtime decides what to do then).
const PERMANENT = [
    /not (?:been )?(?:granted|assigned|available to)/i,
    /invalid (?:status|presence|id)/i,
    /does ?n[o']t exist|not found|no such/i,
    /not logged in|offline|logged out/i,
    /insufficient|not allowed|permission/i
];
// Failures that may pass: Omni-Channel still loading, busy, a lost connection.
const TRANSIENT = [/not (?:yet )?(?:ready|initiali[sz]ed|loaded)/i, /timeout|timed out/i, /network|connection|unavailable|try again/i];

/** The text of whatever a rejected toolkit promise gave us. */
export function errorText(error) {
    if (error === null || error === undefined) {
        return 'unknown error';
    }
    if (typeof error === 'string') {
        return error;
    }
    if (typeof error.message === 'string' && error.message) {
        return error.message;
    }
    if (Array.isArray(error) && error.length) {
        return error.map(errorText).join('; ');
    }
    try {
        return JSON.stringify(error);
    } catch {
        return String(error);
    }
}

/** 'permanent' | 'transient' for a failed setServicePresenceStatus. Unknown failures count as transient. */
export function classifyError(error) {
    const text = errorText(error);
    if (PERMANENT.some((pattern) => pattern.test(text))) {
        return 'permanent';
    }
    if (TRANSIENT.some((pattern) => pattern.test(text))) {
        return 'transient';
    }
    return 'transient';
}

/**
 * After failed attempt number `attempt` (1-based): {retry: true, delayMs} or {retry: false, reason}.
 * Backoff: base * 2^(attempt-1), capped, with "full jitter" (random in [cap/2, cap]) so that many consoles
 * retrying after one outage do not retry in step. `random` is injectable for tests.
 */
export function retryDecision(error, attempt, { maxAttempts = 4, baseMs = 500, maxDelayMs = 8000, random = Math.random } = {}) {
    if (classifyError(error) === 'permanent') {
        return { retry: false, reason: 'permanent' };
    }
    if (attempt >= maxAttempts) {
        return { retry: false, reason: 'attempts-exhausted' };
    }
    const ceiling = Math.min(maxDelayMs, baseMs * 2 ** (attempt - 1));
    const delayMs = Math.round(ceiling / 2 + random() * (ceiling / 2));
    return { retry: true, delayMs };
}

/**
 * Whether what the toolkit answered is the status we asked for (its promise resolves with
 * {statusId, statusName, statusApiName, channels}).
 */
export function confirmsStatus(command, toolkitResult) {
    return Boolean(toolkitResult) && sameId(toolkitResult.statusId, command.statusId);
}

/** The Omni_Presence_Result__e payload for one handled command. */
export function resultEvent(command, { success, error = null, attempts = 1 }) {
    let text = success ? null : errorText(error);
    if (text !== null && text.length > ERROR_MAX_LENGTH) {
        text = `${text.slice(0, ERROR_MAX_LENGTH - 1)}…`;
    }
    return {
        CommandId__c: command.commandId,
        UserId__c: command.userId,
        StatusId__c: command.statusId,
        Success__c: Boolean(success),
        Error__c: text,
        Attempts__c: attempts
    };
}

/**
 * Apply one command with retries: `setStatus(statusId)` returns the toolkit's promise, `sleep(ms)` waits.
 * Resolves with the result event payload; never rejects.
 */
export async function applyCommand(command, { setStatus, sleep, retry = {} }) {
    for (let attempt = 1; ; attempt += 1) {
        try {
            const answer = await setStatus(command.statusId);
            if (confirmsStatus(command, answer)) {
                return resultEvent(command, { success: true, attempts: attempt });
            }
            throw new Error(`Omni-Channel answered status ${errorText(answer && answer.statusId)}, not ${command.statusId}`);
        } catch (error) {
            const decision = retryDecision(error, attempt, retry);
            if (!decision.retry) {
                return resultEvent(command, { success: false, error, attempts: attempt });
            }
            await sleep(decision.delayMs);
        }
    }
}
