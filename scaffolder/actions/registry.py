"""The static table of actions; the only module that imports the action modules. A team
adds one: write its module beside these (an :class:`~scaffolder.actions.contract.Action`),
then one line here."""

from __future__ import annotations

from collections.abc import Mapping

from scaffolder.actions.catalog import CATALOG_REGISTER, CATALOG_WRITE
from scaffolder.actions.contract import Action
from scaffolder.actions.debug import DEBUG_LOG, NOTIFICATION_SEND
from scaffolder.actions.fetch import FETCH_PLAIN, FETCH_TEMPLATE
from scaffolder.actions.fs import FS_DELETE, FS_RENAME
from scaffolder.actions.publish import PUBLISH_GIT, PUBLISH_GITHUB, PUBLISH_GITLAB

Actions = Mapping[str, Action]

ACTIONS: Actions = {
    action.id: action
    for action in (
        FETCH_TEMPLATE,
        FETCH_PLAIN,
        FS_RENAME,
        FS_DELETE,
        PUBLISH_GIT,
        PUBLISH_GITHUB,
        PUBLISH_GITLAB,
        CATALOG_WRITE,
        CATALOG_REGISTER,
        DEBUG_LOG,
        NOTIFICATION_SEND,
    )
}
