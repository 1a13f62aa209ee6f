import assert from "node:assert/strict";
import { test } from "node:test";
import type { RecordFormat } from "../src/record-format.js";
import { recordJson, recordShape, type ResourceObject } from "../src/records.js";
import { findStream } from "../src/streams.js";

const flat = (stream: string, resource: ResourceObject, format: RecordFormat = "ids"): Record<string, unknown> =>
  JSON.parse(recordJson(structuredClone(resource), recordShape(findStream(stream)!, format)));

test("a resource flattens to id, attributes, then relationship ids (the three shapes)", () => {
  const prospect: ResourceObject = {
    type: "prospect",
    id: 9,
    attributes: { createdAt: "2024-08-02T09:56:52.000Z", custom1: null, firstName: "Ada", updatedAt: "2024-08-02T09:56:52.000Z", updaterId: 99 },
    relationships: {
      account: { data: { type: "account", id: 2 } },
      owner: { data: null },
      emailAddresses: { data: [{ type: "emailAddress", id: 5 }, { type: "emailAddress", id: 6 }] },
      mailings: {},
      updater: { data: { type: "user", id: 2 } },
    },
    links: { self: "https://api.outreach.io/api/v2/prospects/9" },
  };
  const text = recordJson(structuredClone(prospect), recordShape(findStream("prospects")!));
  assert.equal(text.match(/"updaterId"/g)?.length, 1, "no key twice");
  const record = flat("prospects", prospect);
  assert.deepEqual(record, {
    id: 9,
    createdAt: "2024-08-02T09:56:52.000Z",
    custom1: null,
    firstName: "Ada",
    updatedAt: "2024-08-02T09:56:52.000Z",
    updaterId: 99, // the API's attribute is kept as sent (outreach-api.md §3.6) …
    accountId: 2,
    ownerId: null,
    emailAddressesIds: [5, 6],
    updaterRelationshipId: 2, // … and the relationship's different value gets the clash name
  });
  assert.deepEqual(Object.keys(record).slice(0, 2), ["id", "createdAt"]);
});

test("polymorphic to-one relationships keep the type", () => {
  const task: ResourceObject = {
    type: "task",
    id: 1,
    attributes: {},
    relationships: { subject: { data: { type: "opportunity", id: 7 } }, creator: { data: null } },
  };
  assert.deepEqual(flat("tasks", task), { id: 1, subjectId: 7, subjectType: "opportunity", creatorId: null, creatorType: null });
});

test("records without attributes or relationships, and text that needs escaping", () => {
  assert.deepEqual(flat("duties", { type: "duty", id: 4 }), { id: 4 });
  assert.deepEqual(flat("duties", { type: "duty", id: 4, attributes: {} }), { id: 4 });
  const text = 'Zoë "quoted"\u00a0<b>html</b>\n東京 🚀 ';
  assert.deepEqual(flat("snippets", { type: "snippet", id: 5, attributes: { bodyHtml: text, id: 99 } }), { id: 5, bodyHtml: text });
});

test("a relationship value equal to the attribute of the same name is dropped; a different one keeps the clash name", () => {
  const mailbox: ResourceObject = { type: "mailbox", id: 3, attributes: { email: "a@example.org", userId: 7 }, relationships: { user: { data: { type: "user", id: 7 } } } };
  assert.deepEqual(flat("mailboxes", mailbox), { id: 3, email: "a@example.org", userId: 7 });
  const favorite: ResourceObject = {
    type: "favorite",
    id: 4,
    attributes: { targetId: 12, targetType: "Prospect" },
    relationships: { target: { data: { type: "prospect", id: 12 } }, user: { data: null } },
  };
  assert.deepEqual(flat("favorites", favorite), { id: 4, targetId: 12, targetType: "Prospect", targetRelationshipType: "prospect", userId: null });
  const nulls: ResourceObject = { type: "mailbox", id: 5, attributes: { userId: null }, relationships: { user: { data: null } } };
  assert.deepEqual(flat("mailboxes", nulls), { id: 5, userId: null });
});

test("record_format airbyte_v1: relationships named by the relationship, id arrays, left out when null or empty", () => {
  const task: ResourceObject = {
    type: "task",
    id: 1,
    attributes: { action: "call", ownerId: 5 },
    relationships: {
      owner: { data: { type: "user", id: 28 } },
      subject: { data: { type: "opportunity", id: 7 } },
      creator: { data: null },
      prospectContacts: { data: [{ type: "emailAddress", id: 3 }, { type: "emailAddress", id: 4 }] },
      sequenceSequenceSteps: { data: [] },
      calls: {},
      futureRelationship: { data: { type: "widget", id: 9 } },
    },
  };
  assert.deepEqual(flat("tasks", task, "airbyte_v1"), {
    id: 1,
    action: "call",
    ownerId: 5, // an attribute, kept as sent
    owner: [28],
    subject: [7],
    prospectContacts: [3, 4],
    futureRelationship: [9], // undeclared relationships are named by the same rule
  });
  const clash: ResourceObject = { type: "task", id: 2, attributes: { owner: "someone" }, relationships: { owner: { data: { type: "user", id: 28 } } } };
  assert.deepEqual(flat("tasks", clash, "airbyte_v1"), { id: 2, owner: "someone", ownerRelationship: [28] });
});
