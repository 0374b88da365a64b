export class GroupExistsError extends Error {
  override readonly name = 'GroupExistsError';
  readonly code = 'MULTIRAFT_GROUP_EXISTS';
  constructor(group: number) {
    super(`multiraft: group ${group} already exists on this node`);
  }
}

export class GroupNotFoundError extends Error {
  override readonly name = 'GroupNotFoundError';
  readonly code = 'MULTIRAFT_GROUP_NOT_FOUND';
  constructor(group: number) {
    super(`multiraft: group ${group} is not hosted on this node`);
  }
}

export class TooManyGroupsError extends Error {
  override readonly name = 'TooManyGroupsError';
  readonly code = 'MULTIRAFT_TOO_MANY_GROUPS';
  constructor(limit: number) {
    super(`multiraft: this node already hosts ${limit} groups`);
  }
}
