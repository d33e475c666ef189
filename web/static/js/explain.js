// Meanings of the coded values Windows writes into event data: message
// parameters (%%2313), NTSTATUS codes (0xc000006d), logon types and
// access masks. Shown beside the raw value, never instead of it.

// MSGS are common message-table strings (msobjs.dll) that Security
// events reference as %%NNNN.
const MSGS = {
  1537: 'DELETE', 1538: 'READ_CONTROL', 1539: 'WRITE_DAC', 1540: 'WRITE_OWNER', 1541: 'SYNCHRONIZE', 1542: 'ACCESS_SYS_SEC',
  1832: 'Identification', 1833: 'Impersonation', 1840: 'Delegation', 1842: 'Yes', 1843: 'No',
  1936: 'TokenElevationTypeDefault (1)', 1937: 'TokenElevationTypeFull (2)', 1938: 'TokenElevationTypeLimited (3)',
  2304: 'An error occurred during logon', 2305: 'The specified user account has expired',
  2306: 'The NetLogon component is not active', 2307: 'Account locked out',
  2308: 'The user has not been granted the requested logon type at this machine',
  2309: "The specified account's password has expired", 2310: 'Account currently disabled',
  2311: 'Account logon time restriction violation', 2312: 'User not allowed to logon at this computer',
  2313: 'Unknown user name or bad password',
  4416: 'ReadData (or ListDirectory)', 4417: 'WriteData (or AddFile)', 4418: 'AppendData (or AddSubdirectory)',
  4419: 'ReadEA', 4420: 'WriteEA', 4421: 'Execute/Traverse', 4422: 'DeleteChild', 4423: 'ReadAttributes', 4424: 'WriteAttributes',
  8448: 'Success removed', 8449: 'Success added', 8450: 'Failure removed', 8451: 'Failure added',
  14592: 'Inbound', 14593: 'Outbound', 14597: 'Transport',
};

// NTSTATUS are the status codes of failed logons (4625, 4771, 4776).
const NTSTATUS = {
  '0x0': 'success',
  '0xc0000064': 'user name does not exist', '0xc000006a': 'wrong password', '0xc000006d': 'bad user name or password',
  '0xc000006e': 'account restriction', '0xc000006f': 'logon outside allowed hours', '0xc0000070': 'workstation not allowed',
  '0xc0000071': 'password expired', '0xc0000072': 'account disabled', '0xc00000dc': 'server in the wrong state',
  '0xc0000133': 'clocks out of sync', '0xc000015b': 'logon type not granted', '0xc000018c': 'trust relationship failed',
  '0xc0000192': 'NetLogon service not started', '0xc0000193': 'account expired', '0xc0000224': 'password must change at next logon',
  '0xc0000234': 'account locked out', '0xc00002ee': 'error during logon', '0xc0000413': 'authentication firewall refused',
  '0xc000005e': 'no logon servers available', '0xc0000371': 'local account store lacks the secret',
};

const LOGON_TYPES = {
  0: 'System', 2: 'Interactive', 3: 'Network', 4: 'Batch', 5: 'Service', 7: 'Unlock', 8: 'NetworkCleartext',
  9: 'NewCredentials (runas /netonly)', 10: 'RemoteInteractive (RDP)', 11: 'CachedInteractive',
  12: 'CachedRemoteInteractive', 13: 'CachedUnlock',
};

// Object access bits (files, keys, other objects: AccessMask).
const OBJECT_BITS = [
  [0x1, 'ReadData/ListDirectory'], [0x2, 'WriteData/AddFile'], [0x4, 'AppendData/AddSubdirectory'], [0x8, 'ReadEA'],
  [0x10, 'WriteEA'], [0x20, 'Execute/Traverse'], [0x40, 'DeleteChild'], [0x80, 'ReadAttributes'], [0x100, 'WriteAttributes'],
  [0x10000, 'DELETE'], [0x20000, 'READ_CONTROL'], [0x40000, 'WRITE_DAC'], [0x80000, 'WRITE_OWNER'], [0x100000, 'SYNCHRONIZE'],
  [0x1000000, 'ACCESS_SYS_SEC'],
];

// Process access bits (Sysmon 10 GrantedAccess, 4656/4663 on processes).
const PROCESS_BITS = [
  [0x1, 'TERMINATE'], [0x2, 'CREATE_THREAD'], [0x8, 'VM_OPERATION'], [0x10, 'VM_READ'], [0x20, 'VM_WRITE'],
  [0x40, 'DUP_HANDLE'], [0x80, 'CREATE_PROCESS'], [0x100, 'SET_QUOTA'], [0x200, 'SET_INFORMATION'],
  [0x400, 'QUERY_INFORMATION'], [0x800, 'SUSPEND_RESUME'], [0x1000, 'QUERY_LIMITED_INFORMATION'],
  [0x10000, 'DELETE'], [0x20000, 'READ_CONTROL'], [0x40000, 'WRITE_DAC'], [0x80000, 'WRITE_OWNER'], [0x100000, 'SYNCHRONIZE'],
];

function bits(n, table) {
  const out = [];
  for (const [b, name] of table) if ((n & b) === b) out.push(name);
  return out.join(' | ');
}

// explain returns what a data value means ('' when nothing is known):
// every %%NNNN it holds, an NTSTATUS code, a logon type, or an access
// mask's rights.
export function explain(name, value) {
  const v = String(value || '').trim();
  if (!v) return '';
  const refs = [...v.matchAll(/%%(\d{3,5})/g)].map((m) => MSGS[m[1]] ? '%%' + m[1] + ' = ' + MSGS[m[1]] : '').filter(Boolean);
  if (refs.length) return refs.join('; ');
  const n = name.toLowerCase();
  if (/^0x[0-9a-f]+$/i.test(v)) {
    const low = '0x' + v.slice(2).toLowerCase().replace(/^0+(?=.)/, '');
    if ((n.includes('status') || n.includes('failure') || n === 'errorcode' || n === 'result') && NTSTATUS[low]) return NTSTATUS[low];
    const num = parseInt(v, 16);
    if (n === 'grantedaccess') return num === 0x1fffff ? 'PROCESS_ALL_ACCESS' : bits(num, PROCESS_BITS);
    if (n === 'accessmask' || n === 'desiredaccess') return bits(num, OBJECT_BITS);
    if (NTSTATUS[low] && low !== '0x0') return NTSTATUS[low];
  }
  if (n === 'logontype' && /^\d+$/.test(v) && LOGON_TYPES[v] !== undefined) return LOGON_TYPES[v];
  return '';
}
