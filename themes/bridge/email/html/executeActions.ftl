<#-- The activation mail of an invitation. Keycloak gives: link, linkExpiration, realmName
     (the realm's display name: the product), user (its attributes, first value each) and
     requiredActions. The bridge writes the invitation.* attributes when it invites. -->
<#import "invitation.ftl" as invitation>
<#import "template.ftl" as layout>
<@layout.emailLayout>
<#if invitation.isInvitation>
${kcSanitize(msg("invitationBodyHtml", link, realmName, invitation.inviter?esc?markup_string, invitation.scopeText?esc?markup_string, invitation.expiresAt, linkExpirationFormatter(linkExpiration)))?no_esc}
<#else>
<#outputformat "plainText"><#assign requiredActionsText><#if requiredActions??><#list requiredActions><#items as reqActionItem>${msg("requiredAction.${reqActionItem}")}<#sep>, </#sep></#items></#list></#if></#assign></#outputformat>
${kcSanitize(msg("executeActionsBodyHtml", link, linkExpiration, realmName, requiredActionsText, linkExpirationFormatter(linkExpiration)))?no_esc}
</#if>
</@layout.emailLayout>
