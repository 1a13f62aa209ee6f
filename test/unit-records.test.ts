import assert from "node:assert/strict";
import { test } from "node:test";
import { recordJson, type ResourceObject } from "../src/records.js";
import { findStream } from "../src/streams.js";

const flat = (stream: string, resource: ResourceObject): Record<string, unknown> => JSON.parse(recordJson(resource, findStream(stream)!.relationships));

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
  const text = recordJson(structuredClone(prospect), findStream("prospects")!.relationships);
  assert.equal(text.match(/"updaterId"/g)?.length, 1, "no key twice");
  const record = flat("prospects", prospect);
  assert.deepEqual(record, {
    id: 9,
    createdAt: "2024-08-02T09:56:52.000Z",
    custom1: null,
    firstName: "Ada",
    updatedAt: "2024-08-02T09:56:52.000Z",
    updaterId: 2, // the relationship wins over the undeclared attribute (outreach-api.md §3.6)
    accountId: 2,
    ownerId: null,
    emailAddressesIds: [5, 6],
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
