<#ftl output_format="plainText">
<#import "../html/invitation.ftl" as invitation>
<#if invitation.isInvitation>
${msg("invitationBody", link, realmName, invitation.inviter, invitation.scopeText, invitation.expiresAt, linkExpirationFormatter(linkExpiration))}
<#else>
<#assign requiredActionsText><#if requiredActions??><#list requiredActions><#items as reqActionItem>${msg("requiredAction.${reqActionItem}")}<#sep>, </#items></#list></#if></#assign>
${msg("executeActionsBody", link, linkExpiration, realmName, requiredActionsText, linkExpirationFormatter(linkExpiration))}
</#if>
