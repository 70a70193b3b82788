/*
 * omniPresenceBridge: applies Omni_Presence_Command__e platform events from the presence-sync runtime to this
 * agent's Omni-Channel status. Hosted by the Aura utility item omniPresenceBridgeUtility, because the Omni
 * toolkit (lightning:omniToolkitAPI) exists only in Aura: this component asks its host to set the status by
 * firing a `setstatus` event whose detail carries the status id and the callbacks to answer with.
 * All decisions live in ./bridgeLogic.js (unit-tested with node --test).
 */
import { LightningElement, api } from 'lwc';
import { subscribe, unsubscribe, onError, setDebugFlag } from 'lightning/empApi';
import userId from '@salesforce/user/Id';
import reportResult from '@salesforce/apex/OmniPresenceBridgeController.reportResult';
import { COMMAND_CHANNEL, applyCommand, createDeduper, decide } from './bridgeLogic';

export default class OmniPresenceBridge extends LightningElement {
    @api debug = false;
    subscription = null;
    deduper = createDeduper();
    queue = Promise.resolve(); // commands are applied one at a time, in delivery order
    lastOutcome = 'waiting for commands';

    connectedCallback() {
        setDebugFlag(this.debug);
        onError((error) => this.log('empApi error', error));
        // -1: only new events. A command published while the console was closed is not replayed: the runtime's
        // resync re-sends what is still needed with a new command id.
        subscribe(COMMAND_CHANNEL, -1, (message) => this.onMessage(message)).then((subscription) => {
            this.subscription = subscription;
        });
    }

    disconnectedCallback() {
        if (this.subscription) {
            unsubscribe(this.subscription, () => {});
            this.subscription = null;
        }
    }

    onMessage(message) {
        const decision = decide(message, { currentUserId: userId, deduper: this.deduper });
        if (decision.action !== 'apply') {
            if (decision.reason !== 'other-user') {
                this.log(`ignored command (${decision.reason})`, decision.command);
            }
            return;
        }
        this.queue = this.queue.then(() => this.apply(decision.command));
    }

    async apply(command) {
        const result = await applyCommand(command, {
            setStatus: (statusId) => this.askHostToSetStatus(statusId),
            sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) // eslint-disable-line @lwc/lwc/no-async-operation
        });
        this.lastOutcome = result.Success__c ? `set ${command.statusId}` : `failed: ${result.Error__c}`;
        try {
            await reportResult({ result: JSON.stringify(result) });
        } catch (error) {
            this.log('could not report the result', error);
        }
    }

    askHostToSetStatus(statusId) {
        return new Promise((resolve, reject) => {
            this.dispatchEvent(new CustomEvent('setstatus', { detail: { statusId, resolve, reject } }));
        });
    }

    log(message, detail) {
        // eslint-disable-next-line no-console
        console.info(`omniPresenceBridge: ${message}`, detail === undefined ? '' : JSON.stringify(detail));
    }
}
